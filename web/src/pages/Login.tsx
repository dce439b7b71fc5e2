import { useState } from 'preact/hooks';
import { directoryLogin, login, setInitialPassword, type SignInResult } from '../client/session.ts';
import { NewPasswordFields } from '../components/NewPasswordFields.tsx';
import { RedirectProviders, useSignInProviders, useSsoReturn } from './LoginProviders.tsx';

/**
 * Email + password sign-in, a directory account (LDAP) chosen in "Sign in with", or a button per
 * single sign-on provider; `notice` says why the user is here again (signed out, session ended).
 * A password an admin set signs in once: the form then asks for the user's own before going on.
 * The URL is left alone, so a link opened while signed out is where the user lands.
 */
export function LoginPage({ notice }: { notice: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fresh, setFresh] = useState({ password: '', confirm: '' });
  const [choosing, setChoosing] = useState(false);
  const [mfa, setMfa] = useState<{ asked: boolean; code: string }>({ asked: false, code: '' });
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const providers = useSignInProviders();
  const directories = providers.filter((p) => p.flow === 'password');
  // '' = a local account; otherwise the slug of a directory provider.
  const [via, setVia] = useState('');
  const returning = useSsoReturn(setError);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (choosing && fresh.password !== fresh.confirm) {
      setFieldError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    setFieldError(null);
    try {
      const code = mfa.asked ? mfa.code.trim() : undefined;
      const res: SignInResult = choosing
        ? await setInitialPassword(email.trim(), password, fresh.password, code)
        : via
          ? await directoryLogin(via, email.trim(), password)
          : await login(email.trim(), password, code);
      if (res.ok) return;
      if ('mfaRequired' in res) {
        setMfa({ asked: true, code: '' });
        requestAnimationFrame(() => document.getElementById('login-mfa')?.focus());
      } else if ('changePassword' in res) {
        setChoosing(true);
        requestAnimationFrame(() => document.getElementById('new-password')?.focus());
      } else if (res.errors?.some((f) => f.field === 'newPassword')) {
        setFieldError(res.errors.filter((f) => f.field === 'newPassword').map((f) => f.message).join('; '));
        document.getElementById('new-password')?.focus();
      } else {
        setError(res.message);
      }
    } catch {
      setError('The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="card login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">{choosing ? 'Choose your password' : 'Sign in to OpsSight'}</h1>
        {notice && !error && !choosing && (
          <p class="notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        {choosing && (
          <p class="notice" role="status">
            An administrator set the password you signed in with; it works only once. Choose your own to go on.
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {directories.length > 0 && !choosing && (
          <>
            <label for="login-via" class="label">
              Sign in with
            </label>
            <select id="login-via" value={via} onChange={(e) => setVia(e.currentTarget.value)}>
              <option value="">OpsSight account</option>
              {directories.map((d) => (
                <option key={d.slug} value={d.slug}>
                  {d.name}
                </option>
              ))}
            </select>
          </>
        )}
        <label for="login-email" class="label">
          {via ? 'Username' : 'Email'}
        </label>
        {via ? (
          <input id="login-email" type="text" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} autofocus />
        ) : (
          <input id="login-email" type="email" autocomplete="username" required readOnly={choosing} value={email} onInput={(e) => setEmail(e.currentTarget.value)} autofocus />
        )}
        <label for="login-password" class="label">
          {choosing ? 'One-time password' : 'Password'}
        </label>
        <input id="login-password" type="password" autocomplete="current-password" required readOnly={choosing} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {mfa.asked && (
          <>
            <label for="login-mfa" class="label">
              Authenticator code (or a recovery code)
            </label>
            <input id="login-mfa" autocomplete="one-time-code" inputMode="numeric" required value={mfa.code} onInput={(e) => setMfa({ asked: true, code: e.currentTarget.value })} />
          </>
        )}
        {choosing && <NewPasswordFields value={fresh} onInput={setFresh} error={fieldError} />}
        <button type="submit" disabled={busy || returning}>
          {busy || returning ? 'Signing in…' : choosing ? 'Set password and sign in' : 'Sign in'}
        </button>
        {!choosing && <RedirectProviders providers={providers} />}
      </form>
    </main>
  );
}
