import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../core/config.ts';
import { loadIntegrationSecret, sealIntegrationSecrets } from '../../core/integrations/store.ts';
import { SecretIntegrityError, SecretKeyUnavailableError, createKeyring, keyIdOf } from '../../core/secrets/keyring.ts';
import { IntegrationSchema } from '../../db/entities/index.ts';
import { createIntegrationRow } from '../../db/repositories/integrations.ts';
import { initOrm, migrateUp, type Db } from '../../db/orm.ts';
import { testKeys } from '../fixtures/integrations.ts';
import { createTeam } from '../fixtures/users.ts';
import { createDatabase, dropDatabase } from '../peers/postgres.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const [A, B, C] = [randomBytes(32), randomBytes(32), randomBytes(32)];

describe('INTEGRATIONS_KEY', () => {
  const env = { ...process.env };
  const problems = (over: Record<string, string | undefined>) => {
    try {
      loadConfig({ ...env, ...over });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.filter((p) => p.startsWith('INTEGRATIONS_'));
    }
  };

  it('is required, 32 bytes, with no fallback: a missing or short key is a startup error naming it', () => {
    expect(problems({ INTEGRATIONS_KEY: undefined })).toEqual([expect.stringMatching(/^INTEGRATIONS_KEY: required: 32 random bytes/)]);
    expect(problems({ INTEGRATIONS_KEY: randomBytes(16).toString('base64') })).toEqual([expect.stringMatching(/^INTEGRATIONS_KEY: must be 32 random bytes/)]);
    expect(problems({ INTEGRATIONS_PREVIOUS_KEYS: `${A.toString('hex')},nope` })).toEqual([expect.stringMatching(/^INTEGRATIONS_PREVIOUS_KEYS.1: must be 32 random bytes/)]);
  });

  it('is read as hex, base64 or base64url, and the previous keys as a list', () => {
    const hex = loadConfig({ ...env, INTEGRATIONS_KEY: A.toString('hex'), INTEGRATIONS_PREVIOUS_KEYS: `${B.toString('base64url')}, ${C.toString('base64')}` });
    expect(hex.INTEGRATIONS_KEY.equals(A)).toBe(true);
    expect(hex.INTEGRATIONS_PREVIOUS_KEYS.map((k) => k.toString('hex'))).toEqual([B.toString('hex'), C.toString('hex')]);
  });
});

describe('the envelope', () => {
  const ring = createKeyring(A);

  it('is a compact JWE (dir, A256GCM) naming its key and record, with a fresh IV each time', async () => {
    const one = await ring.seal('the secret text', 'integration:1');
    const two = await ring.seal('the secret text', 'integration:1');
    expect(one.keyId).toBe(keyIdOf(A));
    const [header, wrapped, iv, ciphertext, tag] = one.envelope.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'dir', enc: 'A256GCM', kid: keyIdOf(A), ctx: 'integration:1' });
    expect([wrapped, Buffer.from(iv!, 'base64url').length, Buffer.from(tag!, 'base64url').length]).toEqual(['', 12, 16]);
    expect(Buffer.from(ciphertext!, 'base64url').toString('latin1')).not.toContain('secret');
    expect(two.envelope).not.toBe(one.envelope);
    expect(await ring.open(one.envelope, 'integration:1')).toBe('the secret text');
  });

  it('refuses a tampered envelope, one copied to another record, and one whose key is not in the ring', async () => {
    const { envelope } = await ring.seal('the secret text', 'integration:1');
    const parts = envelope.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    const tampered = [...parts.slice(0, 3), ct.toString('base64url'), parts[4]].join('.');
    await expect(ring.open(tampered, 'integration:1')).rejects.toBeInstanceOf(SecretIntegrityError);
    await expect(ring.open(envelope, 'integration:2')).rejects.toThrow(/sealed for another record/);
    // A header edited to claim another record: it is authenticated data, so the tag no longer matches.
    const moved = [Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: keyIdOf(A), ctx: 'integration:2' })).toString('base64url'), ...parts.slice(1)].join('.');
    await expect(ring.open(moved, 'integration:2')).rejects.toBeInstanceOf(SecretIntegrityError);
    await expect(createKeyring(B).open(envelope, 'integration:1')).rejects.toEqual(new SecretKeyUnavailableError(keyIdOf(A)));
    await expect(createKeyring(B, [A]).open(envelope, 'integration:1')).resolves.toBe('the secret text');
  });
});

describe('npm run integrations:rotate-key', () => {
  // Its own database: the rotation rewrites every row, and other test files use the shared one.
  const dbName = `opssight_rotate_${Date.now().toString(36)}_${process.pid}`;
  let db: Db;
  let url: string;
  let teamId: string;
  const ids: string[] = [];
  const keys = testKeys();

  beforeAll(async () => {
    url = await createDatabase(dbName);
    await migrateUp(url);
    db = await initOrm(url, { poolMax: 2 });
    teamId = (await createTeam(db.em)).id;
    const em = db.em.fork();
    for (const [i, key] of [A, A, A, A, A, C].entries()) {
      const id = crypto.randomUUID();
      ids.push(id);
      const sealed = await sealIntegrationSecrets(createKeyring(key), id, { privateKey: keys.plain.privateKey });
      createIntegrationRow(em, { id, teamId, type: 'ssh', name: `host-${i}`, settings: { user: 'deploy', hostKeys: [keys.hostKey.fingerprint] }, ...sealed, fingerprint: null, publicKey: null });
    }
    await em.flush();
  });
  afterAll(async () => {
    await db?.close();
    await dropDatabase(dbName);
  });

  const rotate = (previous: Buffer[]) =>
    promisify(execFile)('npm', ['run', '--silent', 'integrations:rotate-key', '--', '--batch-size', '2'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url, INTEGRATIONS_KEY: B.toString('base64'), INTEGRATIONS_PREVIOUS_KEYS: previous.map((k) => k.toString('hex')).join(',') },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const keyIds = async () => (await db.em.fork().find(IntegrationSchema, { team: teamId }, { orderBy: { name: 'asc' } })).map((r) => r.keyId);
  const load = (ring: ReturnType<typeof createKeyring>, id: string) => loadIntegrationSecret(db.em.fork(), ring, { teamId, integrationId: id, type: 'ssh' });

  it('re-encrypts batch by batch under the new key; a row under a key it lacks is reported and left', async () => {
    // Before: a process already configured with the new key reads rows still under the old one.
    expect((await load(createKeyring(B, [A]), ids[0]!)).secrets.privateKey).toBe(keys.plain.privateKey);

    const first = await rotate([A]);
    expect(first.code).toBe(1);
    // Six rows two at a time: three transactions (which one holds the row it cannot open depends on the random ids).
    expect(first.stdout.match(/re-encrypted so far/g)).toHaveLength(3);
    expect(first.stdout).toContain('done, 5 re-encrypted, 1 failed');
    expect(first.stderr).toContain(`integration ${ids[5]} left as it is`);
    expect(first.stderr).toContain(keyIdOf(C));
    expect(await keyIds()).toEqual([...Array(5).fill(keyIdOf(B)), keyIdOf(C)]);
    for (const id of ids.slice(0, 5)) expect((await load(createKeyring(B), id)).secrets.privateKey).toBe(keys.plain.privateKey);
    await expect(load(createKeyring(A), ids[0]!)).rejects.toBeInstanceOf(SecretKeyUnavailableError);

    const second = await rotate([A, C]);
    expect([second.code, second.stdout]).toEqual([0, expect.stringContaining('done, 1 re-encrypted, 0 failed')]);
    expect(await keyIds()).toEqual(Array(6).fill(keyIdOf(B)));
    expect(`${first.stdout}${first.stderr}${second.stdout}`).not.toContain(keys.plain.privateKey.split('\n')[1]);
  });
});
