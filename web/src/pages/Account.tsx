import { useState } from 'preact/hooks';
import { ApiError, post, type FieldError } from '../client/http.ts';
import { useMe } from '../client/me.ts';
import { EffectivePermissions } from '../components/EffectivePermissions.tsx';
import { NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { ContactSection } from './AccountContact.tsx';
import { MfaSection, SessionsSection, TokensSection } from './AccountSecurity.tsx';

/** The signed-in user's own page: who they are, their teams and roles, and a password change. */
export function AccountPage() {
  const me = useMe();
  const [current, setCurrent] = useState('');
  const [fresh, setFresh] = useState({ password: '', confirm: '' });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const errorOf = (field: string) => errors.filter((e) => e.field === field).map((e) => e.message).join('; ') || null;

  const submit = async (e: Event) => {
    e.preventDefault();
    setMessage(null);
    if (fresh.password !== fresh.confirm) {
      setErrors([{ field: 'newPassword', message: 'The two passwords differ.' }]);
      return;
    }
    setBusy(true);
    try {
      await post('/api/v1/auth/password', { currentPassword: current, newPassword: fresh.password });
      setErrors([]);
      setCurrent('');
      setFresh({ password: '', confirm: '' });
      setMessage({ ok: true, text: 'Password changed. Your other sessions were signed out.' });
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      setMessage({ ok: false, text: err instanceof ApiError ? `Not changed: ${err.message}.` : 'The server could not be reached.' });
      requestAnimationFrame(() => document.querySelector<HTMLElement>('#account-password [aria-invalid=true]')?.focus());
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="account-title" class="narrow">
      <h1 id="account-title">Account</h1>
      {me && (
        <dl class="facts card">
          <dt>Email</dt>
          <dd>{me.user.email}</dd>
          <dt>Name</dt>
          <dd>{me.user.name}</dd>
          <dt>Teams</dt>
          <dd>{me.teams.map((t) => `${t.name} (${t.role})`).join(', ') || (me.user.isAdmin ? 'platform administrator' : 'none')}</dd>
        </dl>
      )}
      {me && !me.user.isAdmin && (
        <section class="card" aria-labelledby="my-permissions-title">
          <h2 id="my-permissions-title">What you may do</h2>
          <EffectivePermissions key={me.teams.map((t) => `${t.id}:${t.permissions.join()}:${t.blockedByMfa}`).join()} userId={me.user.id} caption="What you may do in each team" />
        </section>
      )}
      <form class="card login-card" id="account-password" onSubmit={(e) => void submit(e)} aria-labelledby="password-title">
        <h2 id="password-title">Change your password</h2>
        {message && (
          <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>
            {message.text}
          </p>
        )}
        <label for="current-password" class="label">
          Current password
        </label>
        <input
          id="current-password"
          type="password"
          autocomplete="current-password"
          required
          value={current}
          aria-invalid={errorOf('currentPassword') ? true : undefined}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
        {errorOf('currentPassword') && <p class="field-errors">{errorOf('currentPassword')}</p>}
        <NewPasswordFields value={fresh} onInput={setFresh} error={errorOf('newPassword')} />
        <button type="submit" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
      <ContactSection />
      <MfaSection />
      <SessionsSection />
      {me && <TokensSection teams={me.teams.map((t) => ({ slug: t.slug, permissions: t.permissions }))} />}
    </section>
  );
}
