import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = { from: string; to: string[]; raw: string; at: number };

/**
 * A real SMTP server on loopback (the smtp-server package speaks the protocol nodemailer talks to):
 * requires AUTH with the given credentials, keeps every message, and refuses the next `failNext`
 * messages with a temporary 451 when asked to.
 */
export async function startSmtpPeer(credentials = { user: 'mailer', pass: `pw-${crypto.randomUUID()}` }) {
  const mails: ReceivedMail[] = [];
  const control = { failNext: 0, authFailures: 0 };
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === credentials.user && auth.password === credentials.pass) return cb(null, { user: auth.username });
      control.authFailures++;
      return cb(new Error('535 authentication failed'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
      stream.on('end', () => {
        if (control.failNext > 0) {
          control.failNext--;
          const err = new Error('mailbox temporarily unavailable') as Error & { responseCode: number };
          err.responseCode = 451;
          return cb(err);
        }
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, at: Date.now() });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, credentials, mails, control, close: () => new Promise<void>((r) => server.close(() => r())) };
}
export type SmtpPeer = Awaited<ReturnType<typeof startSmtpPeer>>;

/** The ack link in a received mail (quoted-printable soft breaks undone). */
export function ackLinkIn(mail: ReceivedMail): string | null {
  const text = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  return /https?:\/\/\S+\/api\/v1\/alerts\/ack-link\?token=[A-Za-z0-9_.-]+/.exec(text)?.[0] ?? null;
}
