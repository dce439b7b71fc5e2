import type { TestApi } from '../peers/stack.ts';

/**
 * A browser's cookies, per origin (paths and expiry aside: a test's flow is short). Our API binds a
 * sign-in to the browser that started it with a cookie, so a test carries one jar from /start to
 * /sso/exchange — or another jar, to play another browser.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  /** The Cookie header this browser sends to `url`'s origin. */
  cookie(url: string | URL): string {
    return [...(this.jar.get(new URL(url).origin) ?? [])].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(url: string | URL, res: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const value = pair!.slice(i + 1);
      if (value) cookies.set(pair!.slice(0, i), value);
      else cookies.delete(pair!.slice(0, i));
    }
    this.jar.set(origin, cookies);
  }
}

/**
 * Follows a sign-in through an identity provider's own pages without a browser: redirects (keeping
 * `browser`'s cookies) and the provider's HTML forms, filled with `fields`, until the browser would
 * land back on `stopAt` (our callback). Returns that URL, so a test may deliver it as is, or altered.
 */
export async function throughProvider(startUrl: string, stopAt: string, fields: Record<string, string>, browser = new Browser()): Promise<URL> {
  let url = new URL(startUrl);
  let form: URLSearchParams | null = null;
  for (let hop = 0; hop < 20; hop++) {
    // Back at our callback, or already sent on to the dashboard (a failure before the provider was reached).
    if (url.href.startsWith(stopAt) || (url.origin === new URL(stopAt).origin && url.pathname === '/')) return url;
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: browser.cookie(url), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    browser.keep(url, res);
    form = null;
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/i.exec(html)?.[1];
    if (res.status !== 200 || !action) throw new Error(`stuck at ${url.href} (${res.status}): ${html.slice(0, 500)}`);
    form = new URLSearchParams();
    for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) form.set(m[1]!, m[2]!);
    for (const [k, v] of Object.entries(fields)) if (new RegExp(`name="${k}"`).test(html)) form.set(k, v);
    url = new URL(action.replaceAll('&amp;', '&'), url);
  }
  throw new Error('too many hops');
}

/** GET without following: where the server sends the browser (which keeps the cookies it is given). */
export async function locationOf(url: string | URL, browser = new Browser()): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: browser.cookie(url) } });
  browser.keep(url, res);
  const location = res.headers.get('location');
  if (!location) throw new Error(`${String(url)} answered ${res.status} without a redirect: ${await res.text()}`);
  return new URL(location, url);
}

/** The dashboard fragment a callback ended with: `sso` (the one-time code) or `sso_error`. */
export const fragmentOf = (u: URL) => Object.fromEntries(new URLSearchParams(u.hash.slice(1)));

/** The dashboard's last step, from `browser`: the one-time code for the session's tokens. */
export async function exchange(api: Pick<TestApi, 'baseUrl'>, code: string | undefined, browser: Browser) {
  const res = await fetch(`${api.baseUrl}/api/v1/sso/exchange`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: browser.cookie(api.baseUrl) }, body: JSON.stringify({ code }) });
  browser.keep(api.baseUrl, res);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as test/fixtures/http.ts: tests assert field by field
  return { status: res.status, body: (await res.json()) as any };
}
