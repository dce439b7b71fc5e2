import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hash } from '@node-rs/argon2';
import { Attribute, Change, Client } from 'ldapts';
import { startListening } from './listening-process.ts';
import { freePort } from './temporal.ts';

export const SLAPD_BIN = process.env.SLAPD_BIN ?? '/usr/sbin/slapd';
const SUFFIX = 'dc=example,dc=test';
const ROOT_DN = `cn=admin,${SUFFIX}`;
const ROOT_PW = 'root-secret';
/** The cost slappasswd's argon2 module uses by default (argon2i there; argon2id here, verified alike). */
const SLAPPASSWD_ARGON2 = { memoryCost: 4096, timeCost: 3, parallelism: 1 };

export type LdapUser = { uid: string; password: string; mail: string; cn: string };

/**
 * A real directory: Debian's slapd with a throwaway slapd.conf and mdb database under a temp dir, on a
 * free loopback port. Seeded with a read-only service account, users under ou=people and groups under
 * ou=groups, where `platform` contains the group `ops` (nesting) rather than users. `argon2` stores the
 * users' passwords as `{ARGON2}` hashes (slapd's argon2 module), as a directory that hashes them slowly
 * does: a bind with a wrong password then costs what a real one costs. `memberOf` loads slapd's memberof
 * overlay, which lists a user's groups on the user's entry, wherever the groups live (as AD does).
 */
export async function startLdap(users: LdapUser[], groups: Record<string, string[]>, opts: { argon2?: boolean; memberOf?: boolean } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  const port = await freePort();
  const schema = (n: string) => `include /etc/ldap/schema/${n}.schema`;
  writeFileSync(
    path.join(dir, 'slapd.conf'),
    [
      schema('core'), schema('cosine'), schema('inetorgperson'), schema('nis'),
      `pidfile ${path.join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      ...(opts.argon2 ? ['moduleload argon2'] : []),
      ...(opts.memberOf ? ['moduleload memberof'] : []),
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PW}`,
      `directory ${path.join(dir, 'db')}`,
      'maxsize 10485760',
      'access to attrs=userPassword by anonymous auth by * none',
      'access to * by users read by * none',
      ...(opts.memberOf ? ['overlay memberof'] : []),
    ].join('\n') + '\n',
  );
  const url = `ldap://127.0.0.1:${port}`;
  const { stop } = await startListening('slapd', SLAPD_BIN, ['-d', '0', '-f', path.join(dir, 'slapd.conf'), '-h', `${url}/`], port, () => rmSync(dir, { recursive: true, force: true }));
  const admin = new Client({ url, timeout: 5_000 });
  await admin.bind(ROOT_DN, ROOT_PW);
  const add = (dn: string, attrs: Record<string, string | string[]>) => admin.add(dn, attrs);
  await add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' });
  await add(`ou=people,${SUFFIX}`, { objectClass: 'organizationalUnit', ou: 'people' });
  await add(`ou=groups,${SUFFIX}`, { objectClass: 'organizationalUnit', ou: 'groups' });
  const serviceDn = `cn=reader,${SUFFIX}`;
  const servicePassword = 'reader-secret';
  await add(serviceDn, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'reader', userPassword: servicePassword });
  const userDn = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;
  const groupDn = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
  for (const u of users) await add(userDn(u.uid), { objectClass: 'inetOrgPerson', uid: u.uid, cn: u.cn, sn: u.cn, mail: u.mail, userPassword: opts.argon2 ? `{ARGON2}${await hash(u.password, SLAPPASSWD_ARGON2)}` : u.password });
  // A member is a user (uid) or, for nesting, another group (cn); groupOfNames needs one member at least.
  const memberDn = (m: string) => (users.some((u) => u.uid === m) ? userDn(m) : groupDn(m));
  for (const [cn, members] of Object.entries(groups)) await add(groupDn(cn), { objectClass: 'groupOfNames', cn, member: members.map(memberDn) });
  return {
    url,
    suffix: SUFFIX,
    serviceDn,
    servicePassword,
    userDn,
    groupDn,
    /** Replaces a group's members (at least one: groupOfNames needs one). */
    async setMembers(cn: string, members: string[]) {
      await admin.modify(groupDn(cn), new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: members.map(memberDn) }) }));
    },
    /** A group outside ou=groups (its OU created on first use), as anyone able to write another subtree could make. */
    async addGroupUnder(ou: string, cn: string, members: string[]) {
      const parent = `ou=${ou},${SUFFIX}`;
      if (!(await admin.search(SUFFIX, { filter: `(ou=${ou})` })).searchEntries.length) await add(parent, { objectClass: 'organizationalUnit', ou });
      await add(`cn=${cn},${parent}`, { objectClass: 'groupOfNames', cn, member: members.map(memberDn) });
      return `cn=${cn},${parent}`;
    },
    async removeUser(uid: string) {
      await admin.del(userDn(uid));
    },
    async stop() {
      await admin.unbind().catch(() => undefined);
      await stop();
    },
  };
}
export type LdapPeer = Awaited<ReturnType<typeof startLdap>>;
