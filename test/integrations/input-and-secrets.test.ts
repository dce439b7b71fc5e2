/**
 * Bad key material is refused at the door with problem+json naming the field, and no secret ever
 * leaves: the real API process runs with trace logging, and its log, every response and the audit
 * table are searched for the private key, the passphrase and the token afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, EscalationPolicySchema, IntegrationSchema, TeamSchema } from '../../db/entities/index.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { createLogger } from '../../core/logger.ts';
import { createSessionService } from '../../core/refresh-tokens.ts';
import { createTokenService } from '../../core/tokens.ts';
import { createRedis, redisKeys } from '../../core/redis.ts';
import { knownHostsLine, testKeys } from '../fixtures/integrations.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { spawnApiProcess, stopProcess } from '../peers/processes.ts';

const keys = testKeys();
const TOKEN = `glpat-${crypto.randomUUID()}`;
const responses: string[] = [];
let api: ChildProcess;
let apiLog: string[];
let baseUrl: string;
let db: Db;
let team: { id: string; slug: string };
// The URL checks' integrations go here: the last test counts the first team's integrations and audit rows.
let urlTeam: { id: string; slug: string };
let token: string;

beforeAll(async () => {
  db = await initOrm(process.env.DATABASE_URL!, { poolMax: 2 });
  team = await createTeam(db.em);
  urlTeam = await createTeam(db.em);
  const admin = await createUser(db.em, { teams: [team, urlTeam], role: 'admin' });
  const redis = createRedis(process.env.REDIS_URL!, 'test');
  const tokens = createTokenService({ secret: process.env.JWT_SECRET!, ttlSeconds: 900 });
  const sessions = createSessionService({ tokens, refreshTtlSeconds: 3600, redis, keys: redisKeys(process.env.REDIS_PREFIX!), logger: createLogger({ level: 'silent', name: 'test' }) });
  const em = db.em.fork();
  token = (await sessions.start(em, admin.id)).accessToken;
  redis.disconnect();
  const started = await spawnApiProcess({ LOG_LEVEL: 'trace' });
  ({ child: api, output: apiLog } = started);
  baseUrl = `http://127.0.0.1:${started.port}`;
});
afterAll(async () => {
  if (api) await stopProcess(api);
  await db?.close();
});

/** Sends raw text (so malformed JSON can be sent too) and keeps every response body for the search at the end. */
async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  responses.push(`${res.headers.get('content-type')}\n${text}`);
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

const ssh = (secrets: Record<string, unknown>, settings: Record<string, unknown> = { user: 'deploy', hostKeys: [knownHostsLine(keys.hostKey.publicKey)] }) => ({
  team: team.slug,
  type: 'ssh',
  name: `bad-${crypto.randomUUID().slice(0, 8)}`,
  settings,
  secrets,
});

/** The middle of a key: a line that appears nowhere but in the key itself. */
const keyLines = (k: string) => k.split('\n').filter((l) => l && !l.startsWith('-----'));

describe('bad key material', () => {
  const refused = async (body: ReturnType<typeof ssh>, field: string, message: RegExp) => {
    const res = await call('POST', '/api/v1/integrations', body);
    expect([res.status, res.type]).toEqual([400, 'application/problem+json']);
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(await db.em.fork().count(IntegrationSchema, { name: body.name })).toBe(0);
  };

  it('a wrong or missing passphrase names secrets.passphrase', async () => {
    await refused(ssh({ privateKey: keys.encrypted.privateKey, passphrase: `${keys.encrypted.passphrase}-wrong` }), 'secrets.passphrase', /does not decrypt/);
    await refused(ssh({ privateKey: keys.encrypted.privateKey }), 'secrets.passphrase', /encrypted: give its passphrase/);
    await refused(ssh({ privateKey: keys.plain.privateKey, passphrase: keys.encrypted.passphrase }), 'secrets.passphrase', /not encrypted/);
  });

  it('a malformed, truncated or public key names secrets.privateKey', async () => {
    const lines = keys.plain.privateKey.split('\n');
    const damaged = [...lines.slice(0, 2), 'AAAA' + lines[2]!.slice(4).split('').reverse().join(''), ...lines.slice(3)].join('\n');
    await refused(ssh({ privateKey: damaged }), 'secrets.privateKey', /can be read/);
    await refused(ssh({ privateKey: 'hello' }), 'secrets.privateKey', /OpenSSH or PEM/);
    await refused(ssh({ privateKey: keys.plain.publicKey }), 'secrets.privateKey', /OpenSSH or PEM/);
    await refused(ssh({ privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${keys.plain.publicKey.split(' ')[1]}\n-----END OPENSSH PRIVATE KEY-----\n` }), 'secrets.privateKey', /can be read/);
  });

  it('host keys must be known_hosts lines or SHA256 fingerprints whose keys parse', async () => {
    const valid = { privateKey: keys.plain.privateKey };
    await refused(ssh(valid, { user: 'deploy', hostKeys: ['web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad'] }), 'settings.hostKeys.0', /does not parse/);
    await refused(ssh(valid, { user: 'deploy', hostKeys: ['SHA256:tooShort'] }), 'settings.hostKeys.0', /known_hosts line/);
    await refused(ssh(valid, { user: 'deploy', hostKeys: [] }), 'settings.hostKeys', /pin at least one/);
    const rsaLabelled = knownHostsLine(keys.hostKey.publicKey).replace('ssh-ed25519', 'ssh-rsa');
    await refused(ssh(valid, { user: 'deploy', hostKeys: [rsaLabelled] }), 'settings.hostKeys.0', /does not parse/);
  });

  it('a system credentials are sent to is reached over https, or plain http on loopback only', async () => {
    const make = (type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) =>
      call('POST', '/api/v1/integrations', { team: urlTeam.slug, type, name: `${type}-${crypto.randomUUID().slice(0, 8)}`, settings, secrets });
    const cases = [
      ['github', 'apiUrl', { token: 'ghp_x' }, {}],
      ['jenkins', 'url', { apiToken: 'tok' }, { user: 'ci' }],
      ['kubernetes', 'server', { token: 'tok' }, {}],
    ] as const;
    for (const [type, field, secrets, extra] of cases) {
      const refusedOne = await make(type, { ...extra, [field]: 'http://ci.example.test:8080' }, secrets);
      expect([refusedOne.status, refusedOne.body.errors]).toEqual([400, [{ field: `settings.${field}`, message: expect.stringMatching(/^an https:\/\/ .*\(http:\/\/ only on loopback\)$/) }]]);
      for (const url of ['http://127.0.0.1:8080/', 'https://ci.example.test/']) expect((await make(type, { ...extra, [field]: url }, secrets)).status).toBe(201);
    }
  });

  it('settings carry no credentials and name nothing of another team', async () => {
    const git = await call('POST', '/api/v1/integrations', { team: team.slug, type: 'git', name: `git-${crypto.randomUUID().slice(0, 8)}`, settings: { url: 'https://bot:ghp_secret@example.test/o/r.git' }, secrets: { token: 'ghp_secret' } });
    expect([git.status, git.body.errors]).toEqual([400, [{ field: 'settings.url', message: expect.stringMatching(/must not carry credentials/) }]]);
    const other = await createTeam(db.em);
    const em = db.em.fork();
    const policy = em.create(EscalationPolicySchema, { id: crypto.randomUUID(), team: em.getReference(TeamSchema, other.id), name: 'theirs', version: 1, steps: [], repeat: 0, ackTimeoutSeconds: 60, isDefault: false });
    await em.flush();
    const source = await call('POST', '/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.id }, secrets: { token: `t-${crypto.randomUUID()}-${crypto.randomUUID()}` } });
    expect([source.status, source.body.errors]).toEqual([400, [{ field: 'settings.policy', message: "not one of the team's escalation policies" }]]);
    expect(await db.em.fork().count(IntegrationSchema, { team: team.id, type: { $in: ['git', 'alert-source'] } })).toBe(0);
  });

  it('unknown fields and types are refused by name', async () => {
    await refused(ssh({ privateKey: keys.plain.privateKey, password: 'hunter2-not-stored' }), 'secrets.password', /unknown field/);
    const res = await call('POST', '/api/v1/integrations', { ...ssh({}), type: 'telnet' });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['type']);
  });
});

describe('secrets never leave', () => {
  it('appear in no log line, response or audit row after creating, reading, changing and deleting', async () => {
    const created = await call('POST', '/api/v1/integrations', ssh({ privateKey: keys.encrypted.privateKey, passphrase: keys.encrypted.passphrase }));
    expect(created.status).toBe(201);
    const git = await call('POST', '/api/v1/integrations', {
      team: team.slug, type: 'git', name: `repo-${crypto.randomUUID().slice(0, 8)}`,
      settings: { url: 'https://git.example.test/ops/config.git' }, secrets: { token: TOKEN },
    });
    expect(git.status).toBe(201);
    expect((await call('GET', `/api/v1/integrations/${created.body.id}`)).status).toBe(200);
    expect((await call('GET', `/api/v1/integrations?team=${team.slug}`)).body.items).toHaveLength(2);
    expect((await call('PATCH', `/api/v1/integrations/${created.body.id}`, { secrets: { privateKey: keys.encrypted.privateKey, passphrase: keys.encrypted.passphrase } })).status).toBe(200);
    expect((await call('PATCH', `/api/v1/integrations/${git.body.id}`, { settings: { url: 'git@git.example.test:ops/config.git', hostKeys: [keys.hostKey.fingerprint] } })).status).toBe(400);
    // Malformed JSON whose first characters are a secret: the parser's message must not echo them.
    for (const broken of [`{"secrets":{"passphrase":"${keys.encrypted.passphrase}"`, TOKEN]) {
      const res = await call('POST', '/api/v1/integrations', broken);
      expect(res.status).toBeGreaterThan(0);
    }
    expect((await call('DELETE', `/api/v1/integrations/${git.body.id}`)).status).toBe(204);

    const audit = await db.em.fork().find(AuditLogSchema, { teamId: team.id });
    expect(audit.map((a) => a.action).sort()).toEqual(['integration.create', 'integration.create', 'integration.delete', 'integration.update']);
    // Its whole log: every line is read once the process has exited and its output closed.
    const closed = new Promise((r) => api.once('close', r));
    await stopProcess(api);
    await closed;
    const log = apiLog.join('\n');
    expect(log).toContain('API listening');
    const haystacks = { log, responses: responses.join('\n'), audit: JSON.stringify(audit) };
    const needles = [keys.encrypted.passphrase, TOKEN, ...keyLines(keys.encrypted.privateKey), ...keyLines(keys.plain.privateKey), 'hunter2-not-stored'];
    for (const [where, text] of Object.entries(haystacks)) {
      for (const needle of needles) expect([where, text.includes(needle)]).toEqual([where, false]);
    }
  });
});
