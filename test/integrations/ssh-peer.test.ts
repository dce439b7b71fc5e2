import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NodeSSH } from 'node-ssh';
import { hostKeyMatches, fingerprintOf } from '../../core/integrations/ssh-keys.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';

let api: TestApi;
let web1: SshdPeer;
let web2: SshdPeer;
let team: { id: string; slug: string };
let admin: ReturnType<typeof client>;

beforeAll(async () => {
  [api, web1, web2] = await Promise.all([startApi(), startSshd({ clientKeyPassphrase: 'peer passphrase 1' }), startSshd()]);
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
});
afterAll(async () => {
  await Promise.all([web1?.stop(), web2?.stop()]);
  await api?.close();
});

async function sshIntegration(peer: SshdPeer, hostKeys: string[]): Promise<string> {
  const res = await admin.post('/api/v1/integrations', {
    team: team.slug,
    type: 'ssh',
    name: `login-${crypto.randomUUID().slice(0, 8)}`,
    settings: { user: peer.user, hostKeys },
    secrets: { privateKey: peer.clientKey.privateKey, passphrase: peer.clientKey.passphrase },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** What an activity does: load the integration, connect with its key, accept only a pinned host key. */
async function connectWith(integrationId: string, peer: SshdPeer) {
  const loaded = await loadIntegrationSecret(api.deps.db.em.fork(), api.deps.keyring, { teamId: team.id, integrationId, type: 'ssh' });
  const presented: string[] = [];
  const ssh = new NodeSSH();
  const connecting = ssh.connect({
    host: peer.host,
    port: peer.port,
    username: loaded.settings.user,
    privateKey: loaded.secrets.privateKey,
    ...(loaded.secrets.passphrase ? { passphrase: loaded.secrets.passphrase } : {}),
    readyTimeout: 20_000,
    hostVerifier: (key: Buffer) => {
      presented.push(fingerprintOf(key));
      return hostKeyMatches(loaded.settings.hostKeys, key);
    },
  });
  return { ssh, connecting, presented };
}

describe('the sshd peers', () => {
  it('are two hosts with their own host keys', () => {
    expect(web1.port).not.toBe(web2.port);
    expect(web1.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(web1.hostKeyFingerprint).not.toBe(web2.hostKeyFingerprint);
    expect(web1.knownHostsLine).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${web1.port} ssh-ed25519 `));
  });

  it('let the integration’s key in (passphrase-protected) when the host key matches the pinned known_hosts line', async () => {
    const id = await sshIntegration(web1, [web1.knownHostsLine]);
    const { ssh, connecting, presented } = await connectWith(id, web1);
    await connecting;
    try {
      const nonce = crypto.randomUUID();
      const res = await ssh.execCommand(`echo hello-${nonce}; whoami`);
      expect(res.code).toBe(0);
      expect(res.stdout.split('\n')).toEqual([`hello-${nonce}`, web1.user]);
      expect(presented).toEqual([web1.hostKeyFingerprint]);
    } finally {
      ssh.dispose();
    }
  });

  it('accept a SHA256 fingerprint as the pin, for each of several hosts', async () => {
    const id = await sshIntegration(web2, [web1.hostKeyFingerprint, web2.hostKeyFingerprint]);
    const { ssh, connecting, presented } = await connectWith(id, web2);
    await connecting;
    try {
      expect((await ssh.execCommand('echo ok')).stdout).toBe('ok');
      expect(presented).toEqual([web2.hostKeyFingerprint]);
    } finally {
      ssh.dispose();
    }
  });

  it('refuse the connection when the host presents a key that is not pinned', async () => {
    // Pinned: web2's host key. Reached: web1, which has its own.
    const id = await sshIntegration(web1, [web2.knownHostsLine]);
    const { ssh, connecting, presented } = await connectWith(id, web1);
    await expect(connecting).rejects.toThrow(/host|verif/i);
    ssh.dispose();
    expect(presented).toEqual([web1.hostKeyFingerprint]);
  });
});
