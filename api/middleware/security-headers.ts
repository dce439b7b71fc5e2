import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * What every answer carries. A JSON (or other non-document) answer is never rendered, framed or a
 * context for scripts, so it gets the strictest policy and none of the headers that only configure a
 * document (DNS prefetch, XSS auditor, origin-keyed agent clusters, opener isolation): the OWASP REST
 * set, about half the bytes helmet's whole set takes on each answer.
 */
function answerHeaders(document: Map<string, string>): Array<[string, string]> {
  const fixed: Array<[string, string]> = [
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['X-Frame-Options', 'DENY'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
  ];
  const hsts = document.get('Strict-Transport-Security');
  return hsts ? [...fixed, ['Strict-Transport-Security', hsts]] : fixed;
}

/**
 * Helmet's headers for HTML documents (the dashboard, the API docs, an email's acknowledgement page),
 * the OWASP REST set for every other answer. Both are worked out once: with no per-request directive
 * (no nonces) they are the same for every response, and helmet would otherwise rebuild each of them,
 * the CSP string included, per request. An answer that fails is a problem+json one: the REST set.
 */
export function securityHeaders(options: HelmetOptions): Koa.Middleware {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  } as unknown as ServerResponse;
  let called = false;
  helmet(options)({} as IncomingMessage, res, (err?: unknown) => {
    if (err) throw err;
    called = true;
  });
  // Helmet calls back synchronously; if a future version stops doing so these headers would be half set.
  if (!called) throw new Error('helmet did not finish synchronously: its headers cannot be computed once');
  const document = [...headers];
  const answer = answerHeaders(headers);
  return (ctx, next) => {
    for (const [name, value] of answer) ctx.set(name, value);
    return next().then(() => {
      // An answer without a type gets the document's set too: a 304 revalidating index.html carries no
      // type, and a browser merges a 304's headers into the page it keeps (the REST CSP would block its scripts).
      const type = ctx.response.type;
      if (!type || type === 'text/html') for (const [name, value] of document) ctx.set(name, value);
    });
  };
}
