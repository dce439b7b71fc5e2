import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { stateSchema } from '../../activities/terraform/state.ts';
import { prepareWorkDir } from '../../activities/terraform/workdir.ts';
import { leaseSandbox } from '../../activities/process/sandbox.ts';
import { terraformParamsSchema } from '../../contracts/kinds/terraform.ts';
import { migrateUp } from '../../db/orm.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';
import { peerContext } from '../peers/context.ts';
import { startOwnPostgres, type OwnPostgres } from '../peers/own-postgres.ts';

// User code runs in the worker's reach: here a configuration tries everything the audit found open.
// The OpsSight database is on a server with password authentication (the machine's shared server
// trusts every local connection, which would make any database test meaningless).
const asRoot = process.getuid?.() === 0;
let db: OwnPostgres;
let ctx: Awaited<ReturnType<typeof peerContext>>;
let worker: WorkerActivities;
const secretDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-secrets-'));
const secretFile = path.join(secretDir, 'jwt-secret');
const SECRET = `jwt-${crypto.randomUUID()}`;

beforeAll(async () => {
  db = await startOwnPostgres();
  const admin = new pg.Client({ connectionString: db.url() });
  await admin.connect();
  await admin.query('create database opssight');
  await admin.end();
  await migrateUp(db.url('opssight'));
  ctx = await peerContext({ DATABASE_URL: db.url('opssight') });
  worker = await workerActivities(ctx, { overrides: { DATABASE_URL: db.url('opssight') } });
  // As up.sh keeps the platform's secrets: a directory only its owner (root) enters.
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await ctx?.close();
  db?.destroy();
});

const env = () => new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 10_000 }, { logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
const params = (files: Record<string, string>) => terraformParamsSchema.parse({ workspace: `iso-${crypto.randomUUID().slice(0, 8)}`, files, autoApply: true });
/** Runs an activity in a mock activity context, keeping its types. */
const inActivity = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> => env().run(fn, input) as Promise<R>;
const lines = async (runId: string) => (await ctx.events.list(runId, 0, 5000)).map((e) => stripVTControlCharacters(e.message));

/** Applies a configuration whose provisioner runs `script`; returns every stored line of the run. */
async function applyProbe(runId: string, teamId: string, script: string): Promise<string[]> {
  const workspace = `iso-${crypto.randomUUID().slice(0, 8)}`;
  const p = { ...params({ 'main.tf': `resource "terraform_data" "probe" {\n  provisioner "local-exec" {\n    command = <<EOT\n${script.replace('__WS__', workspace)}\nEOT\n  }\n}\n` }), workspace };
  const a = worker.activities;
  const plan = await inActivity(a.terraformPlan, { runId, teamId, step: 'plan-1', params: p });
  await inActivity(a.terraformApply, { runId, teamId, step: `apply-${plan.planId}`, params: p, planId: plan.planId });
  return lines(runId);
}

describe.each(asRoot ? [[true]] : [])('a run\'s user code (sandboxed: %s)', () => {
  it('runs as a uid of its own and reaches no secret, database, other team\'s state or other run\'s files', async () => {
    // Another team with state of its own, and another run whose work dir exists right now.
    const other = await createRunWithTeam(ctx.db.em);
    const otherParams = params({ 'main.tf': 'resource "terraform_data" "theirs" {\n  input = "secret-of-b"\n}\n' });
    const otherPlan = await inActivity(worker.activities.terraformPlan, { ...other, step: 'plan-1', params: otherParams });
    await inActivity(worker.activities.terraformApply, { ...other, step: `apply-${otherPlan.planId}`, params: otherParams, planId: otherPlan.planId });
    const otherRun = await createRunWithTeam(ctx.db.em);
    const otherDirs = await prepareWorkDir(worker.config.WORK_DIR, otherRun.runId, 'plan-1', { ...otherParams, variables: { token: 'their-variable' } }, await leaseSandbox(worker.config.WORK_DIR, otherRun.runId));

    const mine = await createRunWithTeam(ctx.db.em);
    const opssightDb = new URL(db.url('opssight'));
    const script = [
      'echo "PROBE uid $(id -u)"',
      `cat ${secretFile} >/dev/null 2>&1 && echo "PROBE secret-file READ" || echo "PROBE secret-file refused"`,
      `cat /proc/${process.pid}/environ >/dev/null 2>&1 && echo "PROBE worker-environ READ" || echo "PROBE worker-environ refused"`,
      // The team's own state credentials are the ones terraform has; with them, the OpsSight database:
      `psql "$(echo $PG_CONN_STR | sed 's#/[^/?]*?#/${opssightDb.pathname.slice(1)}?#')" -c 'select email from users' >/dev/null 2>&1 && echo "PROBE opssight-db READ" || echo "PROBE opssight-db refused"`,
      // ...and as the database's administrator, without its password:
      `psql "postgres://postgres@127.0.0.1:${opssightDb.port}/opssight" -c 'select 1' >/dev/null 2>&1 </dev/null && echo "PROBE opssight-db-admin READ" || echo "PROBE opssight-db-admin refused"`,
      `psql "$PG_CONN_STR" -c 'select data from "${stateSchema(other.teamId, otherParams.workspace)}".states' >/dev/null 2>&1 && echo "PROBE other-team-state READ" || echo "PROBE other-team-state refused"`,
      // The control: the same client and credentials do reach what is the team's own.
      `psql "$PG_CONN_STR" -c 'select count(*) from "${stateSchema(mine.teamId, '__WS__')}".states' >/dev/null 2>&1 && echo "PROBE own-state read" || echo "PROBE own-state REFUSED"`,
      `cat ${path.join(otherDirs.workDir, 'opssight.auto.tfvars.json')} >/dev/null 2>&1 && echo "PROBE other-run-dir READ" || echo "PROBE other-run-dir refused"`,
      `ls ${worker.config.WORK_DIR} >/dev/null 2>&1 && echo "PROBE work-root LISTED" || echo "PROBE work-root refused"`,
      `touch ${path.join(worker.config.WORK_DIR, 'escape')} 2>/dev/null && echo "PROBE write-work-root WROTE" || echo "PROBE write-work-root refused"`,
      `touch ${path.join(process.cwd(), 'escape')} 2>/dev/null && echo "PROBE write-repo WROTE" || echo "PROBE write-repo refused"`,
      'touch /etc/opssight-escape 2>/dev/null && echo "PROBE write-etc WROTE" || echo "PROBE write-etc refused"',
      'touch ./inside && echo "PROBE write-own-dir wrote"',
      'env | grep -E "DATABASE_URL|JWT_SECRET|INTEGRATIONS_KEY|REDIS_URL" >/dev/null && echo "PROBE env LEAKED" || echo "PROBE env clean"',
    ].join('\n');
    const output = await applyProbe(mine.runId, mine.teamId, script);
    const probes = Object.fromEntries(output.filter((l) => l.includes('PROBE ')).map((l) => l.slice(l.indexOf('PROBE ') + 6).split(' ') as [string, string]));
    expect(Number(probes.uid)).toBeGreaterThan(0);
    expect(probes).toEqual({
      uid: probes.uid,
      'secret-file': 'refused',
      'worker-environ': 'refused',
      'opssight-db': 'refused',
      'opssight-db-admin': 'refused',
      'other-team-state': 'refused',
      'other-run-dir': 'refused',
      'work-root': 'refused',
      'write-work-root': 'refused',
      'write-repo': 'refused',
      'write-etc': 'refused',
      'write-own-dir': 'wrote',
      'own-state': 'read',
      env: 'clean',
    });
    expect(output.join('\n')).not.toContain(SECRET);
  }, 180_000);

  it('file() of a platform secret fails the plan without showing it', async () => {
    const mine = await createRunWithTeam(ctx.db.em);
    const p = params({ 'main.tf': `output "stolen" {\n  value = file("${secretFile}")\n}\n` });
    const err = (await inActivity(worker.activities.terraformPlan, { ...mine, step: 'plan-1', params: p }).then(() => undefined, (e: unknown) => e)) as Error | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/permission denied/i);
    expect((await lines(mine.runId)).join('\n')).not.toContain(SECRET);
  }, 120_000);
});

// Keep the suite honest off root: sandboxing is what is under test, and it needs root.
it('runs as root in CI, where the sandbox is on', () => {
  if (!asRoot) mkdirSync(secretDir, { recursive: true });
  expect(asRoot || process.env.CI !== 'true').toBe(true);
});
