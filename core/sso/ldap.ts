import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, InvalidCredentialsError, type Entry } from 'ldapts';
import { ProviderConfigError, SsoRefusedError } from './errors.ts';
import type { AssertedIdentity } from './provision.ts';
import type { LdapSettings } from './settings.ts';
import type { LoadedProvider } from './store.ts';

const TIMEOUT_MS = 5_000;
// AD's "account disabled" bit of userAccountControl.
const UF_ACCOUNTDISABLE = 2;
// AD's LDAP_MATCHING_RULE_IN_CHAIN: the server follows nested groups itself.
const IN_CHAIN = '1.2.840.113556.1.4.1941';

/** RFC 4515 escaping of a value put into a filter, so a login name cannot change the filter's meaning. */
export const escapeFilterValue = (v: string): string => v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const first = (e: Entry, attr: string): string | null => {
  const v = e[attr] ?? e[Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? ''];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? null : String(one);
};

/** A connection bound as the service account; every failure names the setting behind it. */
async function serviceClient(provider: LoadedProvider): Promise<Client> {
  const s = provider.settings as LdapSettings;
  const ldap = new Client({ url: s.url, timeout: TIMEOUT_MS, connectTimeout: TIMEOUT_MS });
  try {
    if (s.startTls) await ldap.startTLS();
  } catch (err) {
    await ldap.unbind().catch(() => undefined);
    throw new ProviderConfigError(provider.slug, 'settings.startTls', `StartTLS with ${s.url} failed: ${(err as Error).message}`);
  }
  try {
    await ldap.bind(s.bindDn, provider.secrets.bindPassword);
  } catch (err) {
    await ldap.unbind().catch(() => undefined);
    if (err instanceof InvalidCredentialsError) throw new ProviderConfigError(provider.slug, 'secrets.bindPassword', `the directory refused the service account ${s.bindDn}`);
    throw new ProviderConfigError(provider.slug, 'settings.url', `the directory at ${s.url} cannot be reached: ${(err as Error).message}`);
  }
  return ldap;
}

/**
 * A DN's RDNs, lower-cased, without the spaces some directories (and admins) put around commas. Split
 * on unescaped commas only: `ou=x\,ou=groups` is one RDN, so it cannot pass for being under ou=groups.
 */
function rdnsOf(dn: string): string[] {
  const rdns: string[] = [];
  let rdn = '';
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') {
      rdn += dn.slice(i, i + 2);
      i++;
    } else if (dn[i] === ',') {
      rdns.push(rdn);
      rdn = '';
    } else {
      rdn += dn[i];
    }
  }
  rdns.push(rdn);
  // An escaped trailing space (`\ `) belongs to the value.
  return rdns.map((r) => r.replace(/^\s+/, '').replace(/(?<!\\)\s+$/, '').toLowerCase());
}

/**
 * Group DNs and names holding `dn`, nested ones included (AD: in one query; elsewhere level by level).
 * With a `groupBase`, a group counts only when it lives under it, whether found by the search or listed
 * in `memberOf`: elsewhere (another OU, a subtree users may write to) anyone able to create a group
 * could name it like a mapped one.
 */
async function groupsOf(ldap: Client, s: LdapSettings, dn: string, memberOf: string[]): Promise<string[]> {
  const base = s.groupBase;
  const baseRdns = base ? rdnsOf(base) : [];
  const found = new Map<string, string | null>();
  /** Records the group if it lives under the base; its key then, else null. */
  const add = (groupDn: string, cn: string | null): string | null => {
    const rdns = rdnsOf(groupDn);
    const tail = rdns.slice(rdns.length - baseRdns.length);
    if (rdns.length < baseRdns.length || tail.some((r, i) => r !== baseRdns[i])) return null;
    const key = rdns.join(',');
    // Without a base a name proves nothing about where the group lives: the group counts by DN only.
    if (!found.get(key)) found.set(key, base ? (cn ?? /^cn=(.+)$/.exec(rdns[0]!)?.[1]?.replace(/\\(.)/g, '$1') ?? null) : null);
    return key;
  };
  for (const g of memberOf) add(g, null);
  if (base) {
    if (s.activeDirectory) {
      const { searchEntries } = await ldap.search(base, { scope: 'sub', filter: `(member:${IN_CHAIN}:=${escapeFilterValue(dn)})`, attributes: ['cn'] });
      for (const g of searchEntries) add(g.dn, first(g, 'cn'));
    } else {
      const followed = new Set<string>();
      let frontier = [dn];
      for (let depth = 0; depth <= s.nestingDepth && frontier.length > 0; depth++) {
        const next: string[] = [];
        for (const member of frontier) {
          const { searchEntries } = await ldap.search(base, { scope: 'sub', filter: s.groupFilter.replaceAll('{dn}', escapeFilterValue(member)), attributes: ['cn'] });
          for (const g of searchEntries) {
            const key = add(g.dn, first(g, 'cn'));
            if (key === null || followed.has(key)) continue;
            followed.add(key);
            next.push(g.dn);
          }
        }
        frontier = next;
      }
    }
  }
  // Rules may name a group by DN or by its cn.
  return [...found].flatMap(([groupDn, cn]) => (cn ? [groupDn, cn] : [groupDn]));
}

async function entryOf(ldap: Client, provider: LoadedProvider, base: string, filter: string, scope: 'sub' | 'base'): Promise<Entry[]> {
  const s = provider.settings as LdapSettings;
  try {
    const { searchEntries } = await ldap.search(base, { scope, filter, attributes: ['dn', s.emailAttribute, s.nameAttribute, 'memberOf', 'userAccountControl'], sizeLimit: 2 });
    return searchEntries;
  } catch (err) {
    if ((err as { code?: number }).code === 32) return []; // noSuchObject: the base (or the user) is gone
    throw new ProviderConfigError(provider.slug, 'settings.userBase', `searching ${base} failed: ${(err as Error).message}`);
  }
}

function identityOf(s: LdapSettings, user: Entry, groups: string[]): AssertedIdentity {
  const uac = Number(first(user, 'userAccountControl') ?? 0);
  if (uac & UF_ACCOUNTDISABLE) throw new SsoRefusedError('this account is disabled in the directory');
  return { subject: user.dn, email: first(user, s.emailAttribute), emailVerified: s.trustEmails, name: first(user, s.nameAttribute), groups };
}

const memberOfList = (e: Entry): string[] => {
  const v = e.memberOf;
  return Array.isArray(v) ? v.map(String) : v ? [String(v)] : [];
};

/**
 * How long binding as a user with a wrong password took lately, per provider (the last REFUSALS_KEPT,
 * in this process). A directory that hashes passwords slowly (argon2, PBKDF2) answers a bind for an
 * existing user only after checking the hash, so a login for an unknown username must wait as long, or
 * the answer's speed tells which usernames exist.
 */
const refusedBindMs = new Map<string, number[]>();
const REFUSALS_KEPT = 9;

function rememberRefusal(providerId: string, ms: number): void {
  const kept = refusedBindMs.get(providerId) ?? [];
  kept.push(ms);
  if (kept.length > REFUSALS_KEPT) kept.shift();
  refusedBindMs.set(providerId, kept);
}

/** The median of the recent refused binds; before there is one, what binding as the service account took (the same operation). */
function refusalCost(providerId: string, serviceBindMs: number): number {
  const kept = refusedBindMs.get(providerId);
  if (!kept?.length) return serviceBindMs;
  const sorted = [...kept].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How late a timer fired lately (a busy process runs it after its time): taken off the next wait, so the time waited is what was meant. */
let timerLateMs = 0;

async function waitFor(ms: number): Promise<void> {
  const asked = Math.max(0, ms - timerLateMs);
  const t0 = performance.now();
  await sleep(asked);
  timerLateMs = Math.max(0, 0.8 * timerLateMs + 0.2 * (performance.now() - t0 - asked));
}

/** Binds as `dn` on a connection of its own: true when the directory accepts the password, false when it refuses it. */
async function bindsAs(provider: LoadedProvider, dn: string, password: string): Promise<boolean> {
  const s = provider.settings as LdapSettings;
  const asUser = new Client({ url: s.url, timeout: TIMEOUT_MS, connectTimeout: TIMEOUT_MS });
  try {
    if (s.startTls) await asUser.startTLS();
    await asUser.bind(dn, password);
    return true;
  } catch (err) {
    if (err instanceof InvalidCredentialsError) return false;
    throw new ProviderConfigError(provider.slug, 'settings.url', `binding as the user failed: ${(err as Error).message}`);
  } finally {
    await asUser.unbind().catch(() => undefined);
  }
}

/**
 * Search the user as the service account, bind as them with their password, then read their groups.
 * An unknown (or ambiguous) username waits as long as a refused bind takes: no user enumeration by timing.
 */
export async function ldapLogin(provider: LoadedProvider, username: string, password: string): Promise<AssertedIdentity> {
  const s = provider.settings as LdapSettings;
  const started = performance.now();
  const ldap = await serviceClient(provider);
  const serviceBindMs = performance.now() - started;
  try {
    const entries = await entryOf(ldap, provider, s.userBase, s.userFilter.replaceAll('{username}', escapeFilterValue(username)), 'sub');
    if (entries.length !== 1) {
      await waitFor(refusalCost(provider.id, serviceBindMs));
      throw new SsoRefusedError('invalid username or password');
    }
    const user = entries[0]!;
    const binding = performance.now();
    if (!(await bindsAs(provider, user.dn, password))) {
      rememberRefusal(provider.id, performance.now() - binding);
      throw new SsoRefusedError('invalid username or password');
    }
    return identityOf(s, user, await groupsOf(ldap, s, user.dn, memberOfList(user)));
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

/** At our refresh: the user's entry read again as the service account; gone or disabled refuses, groups as they are now. */
export async function recheckLdap(provider: LoadedProvider, dn: string): Promise<{ groups: string[] }> {
  const s = provider.settings as LdapSettings;
  const ldap = await serviceClient(provider);
  try {
    const entries = await entryOf(ldap, provider, dn, '(objectClass=*)', 'base');
    if (entries.length !== 1) throw new SsoRefusedError('your account no longer exists in the directory');
    return { groups: identityOf(s, entries[0]!, await groupsOf(ldap, s, dn, memberOfList(entries[0]!))).groups };
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}
