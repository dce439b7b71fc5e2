import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get, post } from '../client/http.ts';
import { refreshMe } from '../client/me.ts';

type Session = { id: string; current: boolean; userAgent: string | null; ip: string | null; lastUsedAt: string };
type Token = { id: string; name: string; prefix: string; team: { slug: string }; permissions: string[]; expiresAt: string; lastUsedAt: string | null; revokedAt: string | null };
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');
const failure = (err: unknown) => (err instanceof ApiError ? err.message : 'The server could not be reached.');

/**
 * Second factor: enrol TOTP (QR code, first code, recovery codes shown once) or see that it is on.
 * Opened as /account#account-mfa (where a team's MFA requirement sends a member), it takes the focus.
 */
export function MfaSection() {
  const section = useRef<HTMLElement>(null);
  const [status, setStatus] = useState<{ enrolled: boolean; recoveryCodesLeft: number } | null>(null);
  const [enrolment, setEnrolment] = useState<{ secret: string; qrCode: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => void get<{ enrolled: boolean; recoveryCodesLeft: number }>('/api/v1/me/mfa').then(setStatus, (e: unknown) => setError(failure(e)));
  useEffect(load, []);
  useEffect(() => {
    if (!status || location.hash !== '#account-mfa') return;
    section.current?.scrollIntoView({ block: 'start' });
    (section.current?.querySelector<HTMLElement>('input, button') ?? section.current)?.focus();
  }, [status]);
  const [password, setPassword] = useState('');
  // The password is asked again so a stolen session alone cannot put someone else's authenticator on the account.
  const start = async (e: Event) => {
    e.preventDefault();
    const body = password ? { currentPassword: password } : {};
    const started = await post<{ secret: string; qrCode: string }>('/api/v1/me/mfa/totp', body).catch((err: unknown) => (setError(failure(err)), null));
    setPassword('');
    if (started) setError(null);
    setEnrolment(started);
  };
  const verify = async (e: Event) => {
    e.preventDefault();
    try {
      setCodes((await post<{ recoveryCodes: string[] }>('/api/v1/me/mfa/totp/verify', { code: code.trim() })).recoveryCodes);
      setEnrolment(null);
      setError(null);
      load();
      // Teams requiring MFA let the user act now: the notice goes and the pages show what they may do.
      refreshMe();
    } catch (err) {
      setError(failure(err));
    }
  };
  return (
    <section class="card" aria-labelledby="mfa-title" id="account-mfa" ref={section} tabIndex={-1}>
      <h2 id="mfa-title">Two-factor authentication</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {status?.enrolled && <p data-testid="mfa-status">On: sign-in asks for your authenticator’s code. {status.recoveryCodesLeft} recovery codes left.</p>}
      {codes && (
        <div role="status">
          <p>Recovery codes — each works once, and they are shown only now:</p>
          <ul data-testid="recovery-codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
        </div>
      )}
      {status && !status.enrolled && !enrolment && (
        <form onSubmit={(e) => void start(e)} aria-label="Set up two-factor authentication">
          <label for="mfa-password" class="label">Your password</label>
          <input id="mfa-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          <p class="hint">Signed in through single sign-on? Leave it empty within ten minutes of signing in.</p>
          <button type="submit">Set up an authenticator app</button>
        </form>
      )}
      {enrolment && (
        <form onSubmit={(e) => void verify(e)}>
          <img src={enrolment.qrCode} alt="QR code to scan with an authenticator app" width={200} height={200} />
          <p>Or enter this key: <code data-testid="mfa-secret">{enrolment.secret}</code></p>
          <label for="mfa-code" class="label">Code from the app</label>
          <input id="mfa-code" autocomplete="one-time-code" inputMode="numeric" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          <button type="submit">Turn on</button>
        </form>
      )}
    </section>
  );
}

/** Where the user is signed in; end one session, or every other. */
export function SessionsSection() {
  const [items, setItems] = useState<Session[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = () => void get<{ items: Session[] }>('/api/v1/me/sessions').then((r) => setItems(r.items), (e: unknown) => setError(failure(e)));
  useEffect(load, []);
  const end = (path: string) => void del(path).then(load, (e: unknown) => setError(failure(e)));
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      {error && <p class="error" role="alert">{error}</p>}
      <ul>
        {items.map((s) => (
          <li key={s.id}>
            {s.userAgent ?? 'unknown device'} · {s.ip ?? 'unknown address'} · last used {when(s.lastUsedAt)} {s.current ? '(this session)' : <button type="button" onClick={() => end(`/api/v1/me/sessions/${s.id}`)}>Sign out</button>}
          </li>
        ))}
      </ul>
      {items.length > 1 && <button type="button" onClick={() => end('/api/v1/me/sessions')}>Sign out every other session</button>}
    </section>
  );
}

/** API tokens for automation: list, create (shown once), revoke. */
export function TokensSection({ teams }: { teams: { slug: string; permissions: string[] }[] }) {
  const [items, setItems] = useState<Token[]>([]);
  const [form, setForm] = useState({ name: '', team: teams[0]?.slug ?? '', readOnly: true });
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => void get<{ items: Token[] }>('/api/v1/me/tokens').then((r) => setItems(r.items), (e: unknown) => setError(failure(e)));
  useEffect(load, []);
  const create = async (e: Event) => {
    e.preventDefault();
    const held = teams.find((t) => t.slug === form.team)?.permissions ?? [];
    try {
      const res = await post<{ token: string }>('/api/v1/me/tokens', { name: form.name, team: form.team, permissions: form.readOnly ? ['runs:read'] : held });
      setCreated(res.token);
      setError(null);
      load();
    } catch (err) {
      setError(failure(err));
    }
  };
  return (
    <section class="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {created && <p role="status">Copy the token now, it is not shown again: <code data-testid="new-token">{created}</code></p>}
      <ul>
        {items.map((t) => (
          <li key={t.id}>
            {t.name} ({t.prefix}…) · {t.team.slug} · {t.permissions.join(', ')} · expires {when(t.expiresAt)} · last used {when(t.lastUsedAt)}{' '}
            {t.revokedAt ? 'revoked' : <button type="button" onClick={() => void del(`/api/v1/me/tokens/${t.id}`).then(load)}>Revoke</button>}
          </li>
        ))}
      </ul>
      {teams.length > 0 && (
        <form onSubmit={(e) => void create(e)}>
          <label for="token-name" class="label">Name</label>
          <input id="token-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
          <label for="token-team" class="label">Team</label>
          <select id="token-team" value={form.team} onChange={(e) => setForm({ ...form, team: e.currentTarget.value })}>
            {teams.map((t) => <option key={t.slug} value={t.slug}>{t.slug}</option>)}
          </select>
          <label>
            <input type="checkbox" checked={form.readOnly} onChange={(e) => setForm({ ...form, readOnly: e.currentTarget.checked })} /> Read only (otherwise: everything you may do in the team)
          </label>
          <button type="submit">Create token</button>
        </form>
      )}
    </section>
  );
}
