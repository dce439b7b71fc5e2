import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkout } from '../../activities/git/checkout.ts';
import { fingerprintOf } from '../../core/integrations/ssh-keys.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startGitServer, type GitServerPeer } from '../peers/git-server.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';

const run = promisify(execFile);
const PLAYBOOK = '- hosts: all\n  tasks:\n    - ansible.builtin.ping:\n';

let api: TestApi;
let git: GitServerPeer;
let sshd: SshdPeer;
let team: { id: string; slug: string };
let admin: ReturnType<typeof client>;
let commit: string;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'opssight-git-test-'));

beforeAll(async () => {
  [api, git, sshd] = await Promise.all([startApi(), startGitServer(), startSshd()]);
  commit = git.createRepo('config', { 'site.yml': PLAYBOOK, 'inventory/hosts.ini': 'web1\n' });
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
});
afterAll(async () => {
  await Promise.all([git?.stop(), sshd?.stop()]);
  await api?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the git server peer', () => {
  it('serves the repository the test created over git://', async () => {
    const dest = path.join(scratch, 'anon');
    await run('git', ['clone', '-q', git.url('config'), dest]);
    expect(readFileSync(path.join(dest, 'site.yml'), 'utf8')).toBe(PLAYBOOK);
    expect((await run('git', ['-C', dest, 'rev-parse', 'HEAD'])).stdout.trim()).toBe(commit);
  });

  /**
   * The activities' own checkout with a git integration over SSH: its key and the known_hosts made
   * from its pins go into files only this checkout reads, and OpenSSH refuses any other host key.
   */
  async function cloneWith(integrationId: string, dest: string) {
    const credentials = await loadIntegrationSecret(api.deps.db.em.fork(), api.deps.keyring, { teamId: team.id, integrationId, type: 'git' });
    const source = { url: credentials.settings.url, ref: 'main', path: '.' };
    return checkout({ source, dest, scratch: mkdtempSync(path.join(scratch, 'creds-')), credentials, signal: AbortSignal.timeout(60_000) });
  }

  async function gitIntegration(hostKeys: string[]): Promise<string> {
    const res = await admin.post('/api/v1/integrations', {
      team: team.slug,
      type: 'git',
      name: `repo-${crypto.randomUUID().slice(0, 8)}`,
      settings: { url: `ssh://${sshd.user}@127.0.0.1:${sshd.port}${git.root}/config.git`, hostKeys },
      secrets: { privateKey: sshd.clientKey.privateKey },
    });
    expect(res.status).toBe(201);
    expect(res.body.fingerprint).toBe(sshd.clientKey.fingerprint);
    return res.body.id as string;
  }

  it.each([
    ['a whole host key', () => sshd.knownHostsLine],
    ['a fingerprint only (matched against the key the host presents)', () => sshd.hostKeyFingerprint],
  ])('serves it over SSH to the key of a git integration pinning %s', async (_, pin) => {
    const dest = mkdtempSync(path.join(scratch, 'over-ssh-'));
    expect(await cloneWith(await gitIntegration([pin()]), dest)).toEqual({ commit });
    expect(readFileSync(path.join(dest, 'inventory/hosts.ini'), 'utf8')).toBe('web1\n');
  });

  it('refuses the clone when the host key is not the pinned one, by key or by fingerprint', async () => {
    const other = await unrelatedHostKey();
    for (const pin of [other.line, other.fingerprint]) {
      await expect(cloneWith(await gitIntegration([pin]), mkdtempSync(path.join(scratch, 'refused-')))).rejects.toThrow(/Host key verification failed/);
    }
  });
});

/** A host key the peer does not have (a fresh one from ssh-keygen): its known_hosts line for the peer's address, and its fingerprint. */
async function unrelatedHostKey(): Promise<{ line: string; fingerprint: string }> {
  const dir = mkdtempSync(path.join(scratch, 'hostkey-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
  const [type, key] = readFileSync(path.join(dir, 'k.pub'), 'utf8').trim().split(' ');
  return { line: `[127.0.0.1]:${sshd.port} ${type} ${key}`, fingerprint: fingerprintOf(Buffer.from(key!, 'base64')) };
}
