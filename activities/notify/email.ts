import nodemailer from 'nodemailer';
import type { SmtpSettings } from '../../contracts/integrations/smtp.ts';

export type EmailMessage = { to: string; subject: string; text: string; html: string };

/**
 * Sends one message through the integration's SMTP server; the provider id is the server's queue
 * answer's message id. A transporter per send: escalation email is rare and settings may change.
 */
export async function sendEmail(settings: SmtpSettings, secrets: { password?: string }, message: EmailMessage): Promise<string> {
  const transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ...(settings.username ? { auth: { user: settings.username, pass: secrets.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    const info = await transporter.sendMail({ from: settings.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    return String(info.messageId);
  } finally {
    transporter.close();
  }
}
