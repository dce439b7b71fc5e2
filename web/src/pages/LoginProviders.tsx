import { useEffect, useState } from 'preact/hooks';
import { redeemSsoCode } from '../client/session.ts';

export type SignInProvider = { slug: string; name: string; type: string; flow: 'redirect' | 'password' };

/** The enabled providers (public list); none when the API cannot say. */
export function useSignInProviders(): SignInProvider[] {
  const [providers, setProviders] = useState<SignInProvider[]>([]);
  useEffect(() => {
    fetch('/api/v1/sso/providers')
      .then((r) => (r.ok ? (r.json() as Promise<{ providers: SignInProvider[] }>) : { providers: [] }))
      .then((b) => setProviders(b.providers))
      .catch(() => setProviders([]));
  }, []);
  return providers;
}

/**
 * A single sign-on comes back as `/#sso=<one-time code>` or `/#sso_error=<reason>`: the code is traded
 * for the session at once, the reason shown. The fragment is dropped from the address bar either way,
 * so a reload or a shared link replays nothing.
 */
export function useSsoReturn(onError: (message: string) => void): boolean {
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const params = new URLSearchParams(location.hash.slice(1));
    const code = params.get('sso');
    const error = params.get('sso_error');
    if (!code && !error) return;
    history.replaceState(history.state, '', location.pathname + location.search);
    if (error) {
      onError(error);
      return;
    }
    setBusy(true);
    redeemSsoCode(code!)
      .then((res) => {
        if (!res.ok) onError(('message' in res && res.message) || 'Sign-in failed.');
      })
      .catch(() => onError('The server could not be reached.'))
      .finally(() => setBusy(false));
  }, []);
  return busy;
}

/** One button per redirect provider (OIDC, GitHub, SAML): a plain link, the API sends the browser on. */
export function RedirectProviders({ providers }: { providers: SignInProvider[] }) {
  const redirects = providers.filter((p) => p.flow === 'redirect');
  if (redirects.length === 0) return null;
  return (
    <div class="sso-providers" data-testid="sso-providers">
      <p class="divider">or</p>
      {redirects.map((p) => (
        <a key={p.slug} class="button secondary" href={`/api/v1/sso/${encodeURIComponent(p.slug)}/start`}>
          Sign in with {p.name}
        </a>
      ))}
    </div>
  );
}
