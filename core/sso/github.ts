import { Octokit } from '@octokit/rest';
import { ProviderConfigError, SsoRefusedError } from './errors.ts';
import type { FlowState, StartedFlow } from './flow-state.ts';
import type { AssertedIdentity } from './provision.ts';
import type { GithubSettings } from './settings.ts';
import type { LoadedProvider } from './store.ts';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier, randomState } from 'openid-client';

// read:org lets /user/orgs and /user/teams list private memberships, which mapping rules may name.
const SCOPES = 'read:user user:email read:org';

/** GitHub's web flow (no OIDC for users): authorize with state and PKCE (S256), which GitHub supports. */
export async function startGithub(provider: LoadedProvider, redirectUri: string): Promise<{ url: string; state: string; flow: StartedFlow }> {
  const s = provider.settings as GithubSettings;
  const state = randomState();
  const codeVerifier = randomPKCECodeVerifier();
  const url = new URL('/login/oauth/authorize', s.webUrl);
  url.search = new URLSearchParams({
    client_id: s.clientId, redirect_uri: redirectUri, scope: SCOPES, state,
    code_challenge: await calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256', allow_signup: 'false',
  }).toString();
  return { url: url.href, state, flow: { providerId: provider.id, codeVerifier, redirectUri } };
}

/** GitHub answers token errors with 200 and an `error` member. */
async function exchange(provider: LoadedProvider, code: string, flow: FlowState): Promise<string> {
  const s = provider.settings as GithubSettings;
  let res: Response;
  try {
    res = await fetch(new URL('/login/oauth/access_token', s.webUrl), {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: s.clientId, client_secret: provider.secrets.clientSecret, code, redirect_uri: flow.redirectUri, code_verifier: flow.codeVerifier }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    throw new ProviderConfigError(provider.slug, 'settings.webUrl', `${s.webUrl} cannot be reached: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (body.error === 'incorrect_client_credentials') throw new ProviderConfigError(provider.slug, 'secrets.clientSecret', 'GitHub refused our client id or secret (incorrect_client_credentials)');
  if (body.error === 'redirect_uri_mismatch') throw new ProviderConfigError(provider.slug, 'settings.clientId', `the OAuth app does not allow the callback ${flow.redirectUri} (redirect_uri_mismatch)`);
  if (!res.ok || !body.access_token) throw new SsoRefusedError(`GitHub refused the sign-in: ${body.error ?? res.status}${body.error_description ? ` (${body.error_description})` : ''}`);
  return body.access_token;
}

/** Who the token belongs to: the numeric id (logins can be renamed), the verified primary email, orgs and teams. */
async function whoIs(provider: LoadedProvider, token: string): Promise<AssertedIdentity> {
  const s = provider.settings as GithubSettings;
  const octokit = new Octokit({ auth: token, baseUrl: s.apiUrl.replace(/\/$/, ''), request: { signal: AbortSignal.timeout(5_000) } });
  try {
    const { data: user } = await octokit.rest.users.getAuthenticated();
    const { data: emails } = await octokit.rest.users.listEmailsForAuthenticatedUser({ per_page: 100 });
    const primary = emails.find((e) => e.primary);
    const { data: orgs } = await octokit.rest.orgs.listForAuthenticatedUser({ per_page: 100 });
    const { data: teams } = await octokit.rest.teams.listForAuthenticatedUser({ per_page: 100 });
    const groups = [...orgs.map((o) => o.login), ...teams.map((t) => `${t.organization.login}/${t.slug}`)];
    return { subject: String(user.id), email: primary?.email ?? null, emailVerified: primary?.verified === true, name: user.name ?? user.login, groups };
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401) throw new SsoRefusedError('GitHub no longer accepts this sign-in (token revoked)');
    throw new ProviderConfigError(provider.slug, 'settings.apiUrl', `the GitHub API at ${s.apiUrl} failed: ${(err as Error).message}`);
  }
}

export async function finishGithub(provider: LoadedProvider, code: string, flow: FlowState): Promise<{ identity: AssertedIdentity; upstream: string }> {
  const token = await exchange(provider, code, flow);
  return { identity: await whoIs(provider, token), upstream: token };
}

/** At our refresh: the OAuth token still works (not revoked, user not suspended) and the orgs/teams as they are now. */
export async function recheckGithub(provider: LoadedProvider, token: string, subject: string): Promise<{ groups: string[] }> {
  const now = await whoIs(provider, token);
  if (now.subject !== subject) throw new SsoRefusedError('the GitHub token belongs to someone else');
  return { groups: now.groups };
}
