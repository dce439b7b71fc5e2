import Router from '@koa/router';
import coBody from 'co-body';
import { z } from 'zod';
import { DomainError, InputError } from '../../core/errors.ts';
import { ProviderConfigError } from '../../core/sso/errors.ts';
import { browserHash, createFlowStore, FLOW_TTL_SECONDS, newBrowserBinding, type FlowState } from '../../core/sso/flow-state.ts';
import { finishGithub, startGithub } from '../../core/sso/github.ts';
import { ldapLogin } from '../../core/sso/ldap.ts';
import { finishOidc, startOidc } from '../../core/sso/oidc.ts';
import { finishSaml, spMetadata, startSaml, type SpUrls } from '../../core/sso/saml.ts';
import { provisionUser, type AssertedIdentity } from '../../core/sso/provision.ts';
import { recordSsoSession } from '../../core/sso/recheck.ts';
import type { CommonSettings } from '../../core/sso/settings.ts';
import { listProviders, loadProvider, type LoadedProvider } from '../../core/sso/store.ts';
import { normalizeEmail } from '../../db/repositories/users.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { loginThrottle } from '../middleware/rate-limit.ts';
import { completeSignIn } from '../services/sign-in.ts';

export const ssoPathSchema = z.object({ slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/) });
export const ssoCallbackQuerySchema = z.object({
  state: z.string().max(512).optional(),
  code: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
});
export const ssoExchangeRequestSchema = z.object({ code: z.string().min(1).max(128).describe('the one-time code the callback put in the dashboard URL; redeemed only by the browser holding the opssight_sso cookie that /sso/{slug}/start set') });
/** The form field the IdP echoes our RelayState in (SAML bindings); it names the flow, like OIDC's `state`. */
const relayStateSchema = z.string().min(1).max(512);
export const ldapLoginRequestSchema = z.object({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) });
export const publicProviderListSchema = z.object({
  providers: z.array(z.object({ slug: z.string(), name: z.string(), type: z.string(), flow: z.enum(['redirect', 'password']).describe('redirect: open /sso/{slug}/start; password: POST /sso/{slug}/login') })),
});

/**
 * The cookie binding a redirect flow to the browser that started it. Without it, a callback (or a
 * SAML response) an attacker obtained for their own account, loaded in a victim's browser, would
 * sign the victim in as the attacker (login CSRF). Lax: the dashboard's exchange is same-origin.
 */
const BROWSER_COOKIE = 'opssight_sso';
const BROWSER_COOKIE_PATH = '/api/v1/sso';
/**
 * Over https the cookie is `__Host-` prefixed: browsers then refuse one set by a sibling subdomain (which
 * could plant a value it knows and undo the binding). The prefix demands Secure and Path=/, so plain-http
 * development keeps the unprefixed name on the SSO paths.
 */
const browserCookie = (secure: boolean) => (secure ? { name: `__Host-${BROWSER_COOKIE}`, path: '/' } : { name: BROWSER_COOKIE, path: BROWSER_COOKIE_PATH });

/**
 * Signing in through identity providers. Redirect flows (OIDC, GitHub, SAML) start at /sso/{slug}/start
 * and come back to /sso/{slug}/callback (SAML: /sso/{slug}/acs), which hands the dashboard a one-time
 * code in the URL fragment (tokens never travel in a URL); the code is redeemed only by the browser
 * that started the flow. Directory logins (LDAP) post a username and password. Every path ends in
 * completeSignIn, like a password login.
 */
export function ssoRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const flows = createFlowStore(deps.redis, deps.keys.prefix);
  const throttle = loginThrottle(deps);

  const base = (ctx: AppContext) => (deps.config.PUBLIC_URL ?? `${ctx.protocol}://${ctx.host}`).replace(/\/$/, '');
  const redirectUri = (ctx: AppContext, slug: string) => `${base(ctx)}/api/v1/sso/${slug}/callback`;
  // The SP's entity id is its metadata URL (a common convention IdPs accept); assertions must name it as their audience.
  const spUrls = (ctx: AppContext, slug: string): SpUrls => ({ entityId: `${base(ctx)}/api/v1/sso/${slug}/metadata`, acsUrl: `${base(ctx)}/api/v1/sso/${slug}/acs` });

  /** The asserted identity becomes a user (linked or created), a session, and the record a refresh re-checks. */
  async function signInAs(ctx: AppContext, provider: LoadedProvider, asserted: AssertedIdentity, upstream: string | null) {
    const em = ctx.state.em;
    const { user, identityId } = await provisionUser(em, deps.logger, provider, asserted, ctx.ip);
    const { session, body } = await completeSignIn(em, deps.sessions, user, { ip: ctx.ip, userAgent: ctx.get('User-Agent') || null, method: `sso:${provider.slug}` });
    await recordSsoSession(deps, em, { family: session.family, identityId, upstream, maxSessionHours: (provider.settings as unknown as CommonSettings).maxSessionHours });
    // Memberships may have changed: the principal cached for this user in any process is stale.
    await deps.sessions.accessChanged([user.id]);
    return { body, family: session.family };
  }

  // Behind a TLS-terminating proxy ctx.secure is false (proxy: false), yet browsers reach us over https.
  const secureFor = (ctx: AppContext) => ctx.secure || base(ctx).startsWith('https:');
  function setBrowserCookie(ctx: AppContext, value: string | null) {
    const secure = secureFor(ctx);
    if (secure) ctx.cookies.secure = true;
    const { name, path } = browserCookie(secure);
    ctx.cookies.set(name, value, { httpOnly: true, sameSite: 'lax', path, secure, signed: false, maxAge: FLOW_TTL_SECONDS * 1000, overwrite: true });
  }

  /** Sets the browser's half of the binding; the flow keeps only its hash. */
  function bindBrowser(ctx: AppContext): string {
    const binding = newBrowserBinding();
    setBrowserCookie(ctx, binding.value);
    return binding.hash;
  }

  /** The flow a returning browser names (OIDC `state`, SAML RelayState), taken once; one we did not start, or already finished, finds nothing. */
  async function takeFlow(id: string | undefined, provider: LoadedProvider): Promise<FlowState> {
    const flow = id ? await flows.finish(id) : null;
    if (!flow || flow.providerId !== provider.id) throw new InputError('this sign-in is unknown or expired (state mismatch); start again', [{ field: 'state', message: 'not a sign-in in progress' }]);
    return flow;
  }

  /** Redirect flows end on the dashboard either way: a code to redeem, or the reason in words. Never a 500 page. */
  function backToDashboard(ctx: AppContext, fragment: Record<string, string>) {
    ctx.status = 302;
    ctx.redirect(`/#${new URLSearchParams(fragment).toString()}`);
  }

  function explain(ctx: AppContext, slug: string, err: unknown): string {
    if (err instanceof ProviderConfigError) {
      deps.logger.warn({ provider: slug, setting: err.setting, requestId: ctx.state.requestId, err: err.message }, 'sign-in provider misconfigured');
      return err.message;
    }
    if (err instanceof DomainError) {
      deps.logger.info({ provider: slug, requestId: ctx.state.requestId, reason: err.message }, 'single sign-on refused');
      return err.message;
    }
    deps.logger.error({ provider: slug, requestId: ctx.state.requestId, err }, 'single sign-on failed');
    return `sign-in through ${slug} failed; the server log has the details (request ${ctx.state.requestId})`;
  }

  router.get('/sso/providers', async (ctx) => {
    const rows = await listProviders(ctx.state.em, { enabledOnly: true });
    ctx.body = { providers: rows.map((p) => ({ slug: p.slug, name: p.name, type: p.type, flow: p.type === 'ldap' ? ('password' as const) : ('redirect' as const) })) };
  });

  router.get('/sso/:slug/start', async (ctx) => {
    const { slug } = ssoPathSchema.parse(ctx.params);
    try {
      const provider = await loadProvider(deps.keyring, ctx.state.em, { slug });
      const uri = redirectUri(ctx, slug);
      const started =
        provider.type === 'oidc' ? await startOidc(provider, uri)
        : provider.type === 'github' ? await startGithub(provider, uri)
        : provider.type === 'saml' ? await startSaml(provider, spUrls(ctx, slug), deps.redis, deps.keys.prefix)
        : null;
      if (!started) throw new InputError(`${provider.name} signs in with a username and password, not a redirect`, [{ field: 'slug', message: `a ${provider.type} provider` }]);
      await flows.begin(started.state, { ...started.flow, browser: bindBrowser(ctx) });
      ctx.redirect(started.url);
    } catch (err) {
      backToDashboard(ctx, { sso_error: explain(ctx, slug, err) });
    }
  });

  router.get('/sso/:slug/callback', async (ctx) => {
    const { slug } = ssoPathSchema.parse(ctx.params);
    // A malformed callback is no sign-in anyone started: a plain 400, like any bad request.
    const query = ssoCallbackQuerySchema.parse(ctx.query);
    try {
      const provider = await loadProvider(deps.keyring, ctx.state.em, { slug });
      const flow = await takeFlow(query.state, provider);
      if (query.error) throw new InputError(`${provider.name} refused the sign-in: ${query.error_description ?? query.error}`, [{ field: 'error', message: query.error }]);
      if (!query.code) throw new InputError('the provider sent no code', [{ field: 'code', message: 'required' }]);
      const current = new URL(flow.redirectUri);
      current.search = new URLSearchParams(ctx.querystring).toString();
      const done = provider.type === 'oidc' ? await finishOidc(provider, current, query.state!, flow) : await finishGithub(provider, query.code, flow);
      const session = await signInAs(ctx, provider, done.identity, done.upstream);
      backToDashboard(ctx, { sso: await flows.handoff({ ...session, browser: flow.browser }) });
    } catch (err) {
      backToDashboard(ctx, { sso_error: explain(ctx, slug, err) });
    }
  });

  router.get('/sso/:slug/metadata', async (ctx) => {
    const { slug } = ssoPathSchema.parse(ctx.params);
    const provider = await loadProvider(deps.keyring, ctx.state.em, { slug });
    if (provider.type !== 'saml') throw new InputError(`${provider.name} is not a SAML provider`, [{ field: 'slug', message: `a ${provider.type} provider` }]);
    ctx.type = 'application/samlmetadata+xml';
    ctx.body = spMetadata(provider, spUrls(ctx, slug), deps.redis, deps.keys.prefix);
  });

  // The IdP posts the response through the browser (HTTP-POST binding): a form body, not JSON. A
  // cross-site POST carries no Lax cookie, so the browser binding is checked at the exchange.
  router.post('/sso/:slug/acs', async (ctx) => {
    const { slug } = ssoPathSchema.parse(ctx.params);
    try {
      const form = ctx.request.is('urlencoded') ? ((await coBody.form(ctx, { limit: '1mb' })) as Record<string, unknown>) : {};
      const samlResponse = typeof form.SAMLResponse === 'string' ? form.SAMLResponse : null;
      if (!samlResponse) throw new InputError('no SAMLResponse was posted', [{ field: 'SAMLResponse', message: 'required' }]);
      const provider = await loadProvider(deps.keyring, ctx.state.em, { slug });
      if (provider.type !== 'saml') throw new InputError(`${provider.name} is not a SAML provider`, [{ field: 'slug', message: `a ${provider.type} provider` }]);
      const relayState = relayStateSchema.safeParse(form.RelayState);
      const flow = await takeFlow(relayState.success ? relayState.data : undefined, provider);
      const identity = await finishSaml(provider, spUrls(ctx, slug), samlResponse, flow, deps.redis, deps.keys.prefix, flows);
      const session = await signInAs(ctx, provider, identity, null);
      backToDashboard(ctx, { sso: await flows.handoff({ ...session, browser: flow.browser }) });
    } catch (err) {
      backToDashboard(ctx, { sso_error: explain(ctx, slug, err) });
    }
  });

  router.post('/sso/exchange', async (ctx) => {
    const { code } = ssoExchangeRequestSchema.parse(ctx.request.body ?? {});
    const handoff = await flows.redeem(code);
    const cookie = ctx.cookies.get(browserCookie(secureFor(ctx)).name);
    const ours = Boolean(handoff && cookie && browserHash(cookie) === handoff.browser);
    // (A code handed off by the previous release, in the minute after an upgrade, names no session.)
    if (handoff?.family && !ours) {
      // Someone else's browser holds this sign-in's code (login CSRF, or a leaked code): nobody gets the session.
      deps.logger.warn({ requestId: ctx.state.requestId, ip: ctx.ip, family: handoff.family }, 'single sign-on code redeemed by another browser; session revoked');
      await deps.sessions.revoke(ctx.state.em, handoff.family, 'sso-unbound');
    }
    // The same answer as an unknown code: a caller learns nothing about codes it cannot use.
    if (!handoff || !ours) throw new InputError('this sign-in code is unknown, expired or already used', [{ field: 'code', message: 'not redeemable' }]);
    setBrowserCookie(ctx, null);
    ctx.body = handoff.body;
  });

  router.post('/sso/:slug/login', async (ctx) => {
    const { slug } = ssoPathSchema.parse(ctx.params);
    const body = ldapLoginRequestSchema.parse(ctx.request.body ?? {});
    // A directory password is guessed like a local one: the same budgets, per address and per account.
    const account = `${slug}:${normalizeEmail(body.username)}`;
    await throttle.check(ctx.ip, account);
    const provider = await loadProvider(deps.keyring, ctx.state.em, { slug });
    if (provider.type !== 'ldap') throw new InputError(`${provider.name} signs in through a redirect`, [{ field: 'slug', message: `a ${provider.type} provider` }]);
    let asserted: AssertedIdentity;
    try {
      asserted = await ldapLogin(provider, body.username, body.password);
    } catch (err) {
      if (err instanceof ProviderConfigError) explain(ctx, slug, err);
      else await throttle.failed(account);
      throw err;
    }
    await throttle.succeeded(ctx.ip, account);
    ctx.body = (await signInAs(ctx, provider, asserted, null)).body;
  });

  return router;
}
