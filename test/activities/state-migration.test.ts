import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { pino } from 'pino';
import { initArgs, LOCK_WAIT } from '../../activities/terraform/session.ts';
import { prepareStateDatabase } from '../../activities/terraform/state-setup.ts';
import { createStateStore } from '../../activities/terraform/state.ts';
import { peerContext } from '../peers/context.ts';
import { workerActivities } from '../peers/activities.ts';
import { insertRun } from '../fixtures/runs.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { simpleConfig } from '../fixtures/terraform.ts';

const run = promisify(execFile);
const TERRAFORM = process.env.TERRAFORM_BIN!;

// Before team scoping a workspace's state lived in schema tf_<workspace> of the OpsSight database. An
// upgrade that lost it would make the next apply create every resource again: what a user would lose.
let ctx: Awaited<ReturnType<typeof peerContext>>;
beforeAll(async () => {
  ctx = await peerContext();
});
afterAll(async () => ctx.close());

/** terraform in `dir` with a pg backend (`-backend-config` values), returning its exit code. */
async function terraform(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(TERRAFORM, args, { cwd: dir, env: { PATH: process.env.PATH!, TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: process.env.TF_CLI_CONFIG_FILE ?? '' } });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

const withoutSsl = (url: string) => {
  const u = new URL(url);
  u.searchParams.set('sslmode', 'disable');
  return u.toString();
};

function configDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-legacy-'));
  for (const [name, text] of Object.entries(simpleConfig('kept'))) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, 'backend.tf'), 'terraform {\n  backend "pg" {}\n}\n');
  return dir;
}

it('moves a legacy tf_<workspace> state into the team schema of the team that last ran it: the next plan has no changes', async () => {
  const workspace = `legacy${crypto.randomUUID().slice(0, 6)}`;
  const team = await createTeam(ctx.db.em);
  const user = await createUser(ctx.db.em, { teams: [team], role: 'admin' });
  await insertRun(ctx.db.em, team, user.id, { target: workspace });

  // The old layout, written by terraform itself into the OpsSight database.
  const legacyDir = configDir();
  expect((await terraform(legacyDir, ['init', '-input=false', `-backend-config=conn_str=${withoutSsl(ctx.config.DATABASE_URL)}`, `-backend-config=schema_name=tf_${workspace}`])).code).toBe(0);
  const applied = await terraform(legacyDir, ['apply', '-auto-approve', '-input=false', '-no-color']);
  expect(applied.out).toMatch(/1 added/);

  // A worker starting on the new version prepares the state database: the migration runs there.
  const w = await workerActivities(ctx);
  try {
    const target = await w.state.forWorkspace(team.id, workspace);
    const stored = await w.state.pool.query<{ data: string }>(`select data from "${target.schema}".states where name = 'default'`);
    expect(JSON.parse(stored.rows[0]!.data).resources.map((r: { name: string }) => r.name)).toEqual(['thing']);

    const app = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
    await app.connect();
    const schemas = (await app.query<{ n: string }>('select nspname as n from pg_namespace where nspname like $1', [`%tf\\_${workspace}`])).rows.map((r) => r.n);
    await app.end();
    // Renamed aside, not dropped. Another test file's worker starting meanwhile may have migrated the
    // schema Terraform had only begun (it creates it again when missing): then two copies are kept.
    expect(schemas).toContain(`migrated_tf_${workspace}`);
    expect(schemas.filter((n) => !n.startsWith('migrated_'))).toEqual([]);

    // Terraform, as the team's own role, finds its resource: nothing to create again.
    const dir = configDir();
    expect((await terraform(dir, [...initArgs(target.schema), `-backend-config=conn_str=${target.connStr}`])).code).toBe(0);
    const plan = await terraform(dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color', LOCK_WAIT]);
    expect([plan.code, plan.out]).toEqual([0, expect.stringMatching(/No changes/)]);

    // Preparing again (every worker start) leaves it as it is.
    const again = await workerActivities(ctx, { stateUrl: w.config.TERRAFORM_STATE_DATABASE_URL });
    await again.close();
    const after = await w.state.pool.query(`select 1 from "${target.schema}".states`);
    expect(after.rowCount).toBe(1);

    // An older worker, still running during the upgrade, writes the old schema again after it was
    // migrated: a worker starting then still starts, keeps the team's state and keeps the late copy
    // aside, and says that it did. A start killed between its copy and its rename leaves the same
    // state in both places: the next start finishes the move without a word.
    const old = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
    await old.connect();
    const legacyAgain = async (data: string) => {
      await old.query(`create schema "tf_${workspace}"; create table "tf_${workspace}".states (name text primary key, data text)`);
      await old.query(`insert into "tf_${workspace}".states values ('default', $1)`, [data]);
      const warnings: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
      await prepareStateDatabase({ databaseUrl: ctx.config.DATABASE_URL, stateUrl: w.config.TERRAFORM_STATE_DATABASE_URL, store: w.state, logger });
      return warnings;
    };
    const notMoved = /legacy Terraform state not moved/;
    expect((await legacyAgain('{"late":true}')).filter((m) => notMoved.test(m))).toHaveLength(1);
    expect((await legacyAgain(stored.rows[0]!.data)).filter((m) => notMoved.test(m))).toEqual([]);
    const copies = (await old.query<{ n: string }>('select nspname as n from pg_namespace where nspname like $1', [`%tf\\_${workspace}`])).rows.map((r) => r.n);
    await old.end();
    expect(copies.filter((n) => n.startsWith('migrated_'))).toHaveLength(schemas.length + 2);
    expect(copies).not.toContain(`tf_${workspace}`);
    const kept = await w.state.pool.query<{ data: string }>(`select data from "${target.schema}".states where name = 'default'`);
    expect(kept.rows[0]!.data).toBe(stored.rows[0]!.data);
  } finally {
    await w.close();
  }
}, 120_000);

it('workers starting together all prepare a state database that did not exist yet (the losers of the create race go on)', async () => {
  const stateUrl = new URL(ctx.config.DATABASE_URL);
  stateUrl.pathname = `/race_${crypto.randomUUID().slice(0, 8)}`;
  const prepare = async () => {
    const store = createStateStore({ adminUrl: stateUrl.toString(), roleKey: ctx.config.STATE_ROLE_KEY, logger: ctx.logger });
    try {
      await prepareStateDatabase({ databaseUrl: ctx.config.DATABASE_URL, stateUrl: stateUrl.toString(), store, logger: ctx.logger });
    } finally {
      await store.close();
    }
  };
  await expect(Promise.all(Array.from({ length: 4 }, prepare))).resolves.toHaveLength(4);
});
