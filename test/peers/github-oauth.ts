import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type GithubUser = {
  id: number;
  login: string;
  name: string;
  emails: { email: string; primary: boolean; verified: boolean }[];
  orgs: string[];
  teams: { org: string; slug: string }[];
};

export const GITHUB_APP = { clientId: 'Iv1.opssight-test', clientSecret: 'github-app-secret' };

/**
 * A local server following GitHub's documented OAuth web flow and the REST calls we make:
 * GET /login/oauth/authorize (the user `signedIn` approves at once), POST /login/oauth/access_token
 * (client credentials, code, PKCE S256; errors as 200 + `error` like GitHub), and GET /user,
 * /user/emails, /user/orgs, /user/teams with the token. Revoking a user's token makes the API answer 401.
 */
export async function startGithubOAuth(users: GithubUser[]) {
  const codes = new Map<string, { userId: number; challenge: string | null; redirectUri: string }>();
  const tokens = new Map<string, number>();
  const byId = new Map(users.map((u) => [u.id, u]));
  const state = { signedIn: users[0]!.id };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      if (url.searchParams.get('client_id') !== GITHUB_APP.clientId) return json(res, 404, { message: 'Not Found' });
      const code = randomBytes(10).toString('hex');
      const redirectUri = url.searchParams.get('redirect_uri')!;
      codes.set(code, { userId: state.signedIn, challenge: url.searchParams.get('code_challenge'), redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw) as Record<string, string>) : Object.fromEntries(new URLSearchParams(raw));
      if (body.client_id !== GITHUB_APP.clientId || body.client_secret !== GITHUB_APP.clientSecret) return json(res, 200, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
      const grant = codes.get(body.code ?? '');
      codes.delete(body.code ?? '');
      const verifierOk = !grant?.challenge || createHash('sha256').update(body.code_verifier ?? '').digest('base64url') === grant.challenge;
      if (!grant || !verifierOk || (body.redirect_uri && body.redirect_uri !== grant.redirectUri)) return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, grant.userId);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email,read:org' });
    }
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const user = auth && tokens.has(auth) ? byId.get(tokens.get(auth)!) : undefined;
    if (!user) return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    switch (url.pathname) {
      case '/user':
        return json(res, 200, { id: user.id, login: user.login, name: user.name, type: 'User' });
      case '/user/emails':
        return json(res, 200, user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })));
      case '/user/orgs':
        return json(res, 200, user.orgs.map((login, i) => ({ login, id: 1000 + i })));
      case '/user/teams':
        return json(res, 200, user.teams.map((t, i) => ({ id: 2000 + i, slug: t.slug, name: t.slug, organization: { login: t.org, id: 1 } })));
      default:
        return json(res, 404, { message: 'Not Found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    users: byId,
    /** Who approves the next authorization (GitHub's signed-in browser session). */
    signInAs(id: number) {
      state.signedIn = id;
    },
    /** The user revoked the app (or was suspended): every token of theirs stops working. */
    revokeTokensOf(id: number) {
      for (const [t, uid] of tokens) if (uid === id) tokens.delete(t);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
export type GithubPeer = Awaited<ReturnType<typeof startGithubOAuth>>;
