import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { tokenFor } from '../fixtures/http.ts';
import { createUser } from '../fixtures/users.ts';
import { migrateUp } from '../../db/orm.ts';
import { createDatabase, dropDatabase } from '../peers/postgres.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';

// Schemathesis (PyPI, installed by scripts/bootstrap.sh) generates requests from the published OpenAPI
// document — valid ones, invalid ones, unsupported methods — and checks every answer against the
// document: no 5xx, declared statuses and headers only, bodies matching their schema, invalid input
// refused, valid input accepted. Bounded and seeded, so a run is repeatable and fits in CI.
const BIN = process.env.SCHEMATHESIS_BIN ?? '.tools/venv/bin/schemathesis';
const SEED = '20261127';
const MAX_EXAMPLES = '20';

let api: TestApi;
let token: string;
const dbName = `opssight_fuzz_${process.pid}_${Date.now().toString(36)}`;
beforeAll(async () => {
  // A database, Redis prefix and Temporal namespace of its own: the fuzzer is a platform admin and
  // reuses ids it sees in answers, so on the shared ones it would disable other test files' users and
  // decide on their runs while they run.
  const databaseUrl = await createDatabase(dbName);
  await migrateUp(databaseUrl);
  api = await startApi({
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `${process.env.REDIS_PREFIX}${dbName}:`,
    TEMPORAL_NAMESPACE: await ownNamespace('fuzz'),
    // A budget the fuzzer cannot exhaust, so it exercises the routes rather than the rate limiter.
    RATE_LIMIT_API_PER_MINUTE: '1000000',
  });
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  token = await tokenFor(api, admin.id);
});
afterAll(async () => {
  await api?.close();
  await dropDatabase(dbName);
});

/** Runs in `cwd` (a temp dir): schemathesis keeps a cache of past failures there, which must not carry over. */
function schemathesis(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.resolve(BIN), args, { cwd, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

const CONFIG = path.resolve('test/api/schemathesis.toml');
const reportOf = (dir: string, name: string) => readFileSync(path.join(dir, `${name}.xml`), 'utf8');

it('schemathesis finds no server error and no response that breaks the OpenAPI document', async () => {
  const reportDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-fuzz-'));
  const common = [
    `${api.baseUrl}/api/v1/openapi.json`,
    '--url', api.baseUrl,
    '--header', `Authorization: Bearer ${token}`,
    '--checks', 'all',
    '--seed', SEED,
    '--workers', '1',
    '--request-timeout', '10',
    '--phases', 'examples,coverage,fuzzing',
  ];
  const run = (name: string, select: string[]) =>
    schemathesis(['--config-file', CONFIG, 'run', ...common, '--max-examples', MAX_EXAMPLES, ...select, '--report', 'junit', '--report-junit-path', path.join(reportDir, `${name}.xml`)], reportDir);
  // Ending the caller's own sessions (it sees their ids in answers) would revoke the token every later
  // request carries, leaving the operations after it tested only for their 401: those go last, and
  // logging out never. Teams the fuzzer created would let it start runs and then decide on them, which
  // waits for a worker this test does not run: team creation comes after everything that uses teams.
  const last = ['revokeSession', 'revokeUserSessions'];
  // Starting a run has the largest request schema (every kind's params): its coverage phase alone is a
  // thousand cases at about 70 ms of the fuzzer's CPU each, a third of the whole. It runs beside the rest.
  const [main, starts] = await Promise.all([
    run('main', ['logout', 'createTeam', 'startRun', ...last].flatMap((id) => ['--exclude-operation-id', id])),
    run('starts', ['--include-operation-id', 'startRun']),
  ]);
  const teams = await run('teams', ['--include-operation-id', 'createTeam']);
  const sessions = await run('sessions', last.flatMap((id) => ['--include-operation-id', id]));
  const runs = { main, starts, teams, sessions };
  // The reports are the point of this test when it fails: print them whole then, and only then (their
  // pytest-style closing lines would otherwise read as the suite's own summary to whoever scans the log).
  if (Object.values(runs).some((r) => r.code !== 0)) console.log(Object.values(runs).map((r) => r.output).join('\n'));
  for (const name of Object.keys(runs)) expect(reportOf(reportDir, name)).toContain('<testsuite');
  expect(Object.values(runs).map((r) => r.code)).toEqual([0, 0, 0, 0]);
}, 900_000);
