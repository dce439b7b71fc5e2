import { useState } from 'preact/hooks';
import { login } from '../client/session.ts';

/** Email + password sign-in; `notice` says why the user is here again (signed out, session ended). */
export function LoginPage({ notice }: { notice: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await login(email.trim(), password);
      if (!res.ok) setError(res.message);
    } catch {
      setError('The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="card login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to OpsSight</h1>
        {notice && !error && (
          <p class="notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <label for="login-email" class="label">
          Email
        </label>
        <input id="login-email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} autofocus />
        <label for="login-password" class="label">
          Password
        </label>
        <input id="login-password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
