/**
 * The signed-in session: tokens, silent refresh, logout. Tokens live in localStorage so every tab of
 * the browser shares one session. Refresh tokens are single use (a replayed one revokes the whole
 * family), so tabs must never rotate the same one twice: a Web Lock serialises refreshes across tabs,
 * and inside it a tab first adopts a pair another tab already obtained.
 */
export type PublicUser = { id: string; email: string; name: string; isAdmin: boolean };
type TokenResponse = { accessToken: string; refreshToken: string; expiresIn: number; user: PublicUser };
type Stored = { accessToken: string; refreshToken: string; expiresAt: number; user: PublicUser };

const KEY = 'opssight.session';
/** Why the session ended, so every tab shows the same reason. */
const ENDED_KEY = 'opssight.session.ended';
type Listener = (reason: string | null) => void;

let current: Stored | null = read();
let refreshing: Promise<boolean> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();

function read(): Stored | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

function store(res: TokenResponse): void {
  current = { accessToken: res.accessToken, refreshToken: res.refreshToken, expiresAt: Date.now() + res.expiresIn * 1000, user: res.user };
  localStorage.setItem(KEY, JSON.stringify(current));
  adopt(current);
}

function adopt(next: Stored): void {
  current = next;
  schedule();
  listeners.forEach((l) => l(null));
}

/** Refreshes at 80% of the access token's life, so requests rarely meet an expired one. */
function schedule(): void {
  clearTimeout(timer);
  if (!current) return;
  const lifetime = current.expiresAt - Date.now();
  timer = setTimeout(() => void refresh(), Math.max(1_000, lifetime * 0.8));
}

export const session = {
  get user(): PublicUser | null {
    return current?.user ?? null;
  },
  get accessToken(): string | null {
    return current?.accessToken ?? null;
  },
  /** Called with null when signed in or refreshed, with a message when the session ended. */
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export type SignInResult =
  | { ok: true }
  | { ok: false; message: string; errors?: { field: string; message: string }[] }
  /** The password was right, but an admin set it: the user must choose their own (setInitialPassword). */
  | { ok: false; changePassword: true }
  /** The password was right and the account has MFA: ask for the code and sign in again with it. */
  | { ok: false; mfaRequired: true; message?: string };

async function signIn(path: string, body: unknown): Promise<SignInResult> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { detail?: string; passwordChangeRequired?: boolean; mfaRequired?: boolean; errors?: { field: string; message: string }[] };
    if (res.status === 403 && problem.passwordChangeRequired) return { ok: false, changePassword: true };
    if (res.status === 401 && problem.mfaRequired) return { ok: false, mfaRequired: true };
    const message = res.status === 429 ? 'Too many attempts; wait a minute and try again.' : res.status === 401 && path === '/api/v1/auth/login' ? 'Wrong email or password.' : (problem.detail ?? `Sign-in failed (${res.status}).`);
    return { ok: false, message, ...(problem.errors ? { errors: problem.errors } : {}) };
  }
  store((await res.json()) as TokenResponse);
  return { ok: true };
}

export const login = (email: string, password: string, mfaCode?: string) => signIn('/api/v1/auth/login', { email, password, ...(mfaCode ? { mfaCode } : {}) });

/** Ends a single sign-on: trades the one-time code the callback put in the URL fragment for the session. */
export const redeemSsoCode = (code: string) => signIn('/api/v1/sso/exchange', { code });

/** Signs in with a directory (LDAP / Active Directory) account through provider `slug`. */
export const directoryLogin = (slug: string, username: string, password: string) => signIn(`/api/v1/sso/${encodeURIComponent(slug)}/login`, { username, password });

/** First sign-in with a password an admin set: replaces it with the user's own and signs in (the second factor too, when the account has one). */
export const setInitialPassword = (email: string, currentPassword: string, newPassword: string, mfaCode?: string) =>
  signIn('/api/v1/auth/password/initial', { email, currentPassword, newPassword, ...(mfaCode ? { mfaCode } : {}) });

/** Trades the refresh token for a new pair; one attempt at a time across every tab. */
export function refresh(): Promise<boolean> {
  if (!current) return Promise.resolve(false);
  const held = current.refreshToken;
  refreshing ??= (async () => {
    try {
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      return await (locks ? locks.request('opssight.refresh', () => rotate(held)) : rotate(held));
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function rotate(held: string): Promise<boolean> {
  const latest = read();
  if (!latest) {
    end('Your session has ended. Please sign in again.');
    return false;
  }
  // Another tab rotated while this one waited for the lock: its pair is ours too.
  if (latest.refreshToken !== held) {
    adopt(latest);
    return true;
  }
  try {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: held }),
    });
    if (res.ok) {
      store((await res.json()) as TokenResponse);
      return true;
    }
    // 400/401: the refresh token is spent, expired or revoked; anything else may pass.
    if (res.status === 401 || res.status === 400) end('Your session has ended. Please sign in again.');
    return false;
  } catch {
    schedule();
    return false;
  }
}

/** Forgets the session locally and tells listeners why (shown on the login page). */
export function end(reason: string): void {
  clearTimeout(timer);
  current = null;
  localStorage.setItem(ENDED_KEY, reason);
  localStorage.removeItem(KEY);
  listeners.forEach((l) => l(reason));
}

export async function logout(): Promise<void> {
  const token = current?.accessToken;
  if (token) {
    await fetch('/api/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
  }
  end('You have signed out.');
}

// Another tab signed in, refreshed or signed out.
addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const next = read();
  if (next) adopt(next);
  else if (current) end(localStorage.getItem(ENDED_KEY) ?? 'You were signed out in another tab.');
});

if (current) {
  // A reload keeps the tab's session; an access token that expired meanwhile is refreshed first.
  if (current.expiresAt - Date.now() < 5_000) void refresh();
  else schedule();
}
