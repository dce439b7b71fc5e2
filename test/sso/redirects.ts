/**
 * Follows a sign-in through an identity provider's own pages without a browser: redirects (with a
 * cookie jar per origin) and the provider's HTML forms, filled with `fields`, until the browser would
 * land back on `stopAt` (our callback). Returns that URL, so a test may deliver it as is, or altered.
 */
export async function throughProvider(startUrl: string, stopAt: string, fields: Record<string, string>): Promise<URL> {
  const jar = new Map<string, Map<string, string>>();
  const cookieHeader = (u: URL) => [...(jar.get(u.origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (u: URL, res: Response) => {
    const cookies = jar.get(u.origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    jar.set(u.origin, cookies);
  };
  let url = new URL(startUrl);
  let form: URLSearchParams | null = null;
  for (let hop = 0; hop < 20; hop++) {
    // Back at our callback, or already sent on to the dashboard (a failure before the provider was reached).
    if (url.href.startsWith(stopAt) || (url.origin === new URL(stopAt).origin && url.pathname === '/')) return url;
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: cookieHeader(url), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    keep(url, res);
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

/** GET without following: where the server sends the browser. */
export async function locationOf(url: string | URL): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (!location) throw new Error(`${String(url)} answered ${res.status} without a redirect: ${await res.text()}`);
  return new URL(location, url);
}

/** The dashboard fragment a callback ended with: `sso` (the one-time code) or `sso_error`. */
export const fragmentOf = (u: URL) => Object.fromEntries(new URLSearchParams(u.hash.slice(1)));
