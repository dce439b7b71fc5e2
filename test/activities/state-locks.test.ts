import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { initArgs } from '../../activities/terraform/session.ts';
import { STATE_SESSION_KEEPALIVES } from '../../activities/terraform/state.ts';
import { peerContext } from '../peers/context.ts';
import { createDatabase, dropDatabase } from '../peers/postgres.ts';
import { workerActivities } from '../peers/activities.ts';
import { simpleConfig, slowConfig } from '../fixtures/terraform.ts';

const run = promisify(execFile);
const TERRAFORM = process.env.TERRAFORM_BIN!;
const env = { PATH: process.env.PATH!, TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: process.env.TF_CLI_CONFIG_FILE ?? '' };

// Every team's workspaces share one state database. Terraform's pg backend takes one database-wide
// advisory lock while it creates a workspace's first state, and every other workspace's lock attempt
// takes that lock too: without the empty state written at provisioning, one team's first apply made
// every other team's plan fail ("already locked for workspace creation") for as long as it ran.
// A state database of its own, new like a first install's: two teams' first workspaces provisioned at
// once also create and share its one id sequence.
const stateDb = `opssight_tfstate_locks_${crypto.randomUUID().slice(0, 8)}`;
let ctx: Awaited<ReturnType<typeof peerContext>>;
let w: Awaited<ReturnType<typeof workerActivities>>;
beforeAll(async () => {
  ctx = await peerContext();
  w = await workerActivities(ctx, { stateUrl: await createDatabase(stateDb) });
});
afterAll(async () => {
  await w?.close();
  await ctx?.close();
  await dropDatabase(stateDb);
});

/** A workspace of `teamId` as a run sees it: provisioned by the worker, initialised as the team's role. */
async function workspace(teamId: string, files: Record<string, string>) {
  const state = await w.state.forWorkspace(teamId, `ws${crypto.randomUUID().slice(0, 6)}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-locks-'));
  for (const [name, text] of Object.entries({ ...files, 'backend.tf': 'terraform {\n  backend "pg" {}\n}\n' })) writeFileSync(path.join(dir, name), text);
  await run(TERRAFORM, [...initArgs(state.schema), `-backend-config=conn_str=${state.connStr}`], { cwd: dir, env });
  return { state, dir };
}

async function terraform(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(TERRAFORM, args, { cwd: dir, env });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

it("one team's first apply does not lock another team's workspace", async () => {
  const [first, other] = await Promise.all([workspace(crypto.randomUUID(), slowConfig(6, 3)), workspace(crypto.randomUUID(), simpleConfig())]);
  const empty = await w.state.version(first.state.schema);
  expect((await terraform(other.dir, ['apply', '-auto-approve', '-input=false', '-no-color'])).out).toMatch(/1 added/);

  // The first apply of a new workspace, held in its provisioner (and so holding its state lock) for 6 s.
  const apply = spawn(TERRAFORM, ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: first.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => apply.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: apply.stdout! }).on('line', (l) => l.includes('progress 1') && resolve());
    void exited.then((code) => reject(new Error(`the first apply ended (${code}) before its provisioner ran`)));
  });

  // Meanwhile the other team plans and applies with a short lock timeout: neither waits on the first.
  const plan = await terraform(other.dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color', '-lock-timeout=1s']);
  expect([plan.code, plan.out]).toEqual([0, expect.stringMatching(/No changes/)]);
  writeFileSync(path.join(other.dir, 'main.tf'), simpleConfig('two')['main.tf']);
  const applied = await terraform(other.dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-lock-timeout=1s']);
  expect([applied.code, applied.out]).toEqual([0, expect.stringMatching(/1 changed/)]);
  expect(apply.exitCode).toBeNull();

  // The first apply's state is written over the empty one provisioning wrote: serial 0, then 1, one lineage.
  expect(empty?.serial).toBe(0);
  expect(await exited).toBe(0);
  expect(await w.state.version(first.state.schema)).toEqual({ serial: 1, lineage: empty!.lineage });
  expect((await terraform(first.dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color'])).code).toBe(0);
}, 90_000);

it('every session of a team\'s state role has a server-side keepalive of about a minute, so a dead host\'s lock does not outlive it by hours', async () => {
  const state = await w.state.forWorkspace(crypto.randomUUID(), `ws${crypto.randomUUID().slice(0, 6)}`);
  // Over TCP, as terraform connects: the role's settings apply to every session it opens.
  const client = new pg.Client({ connectionString: state.connStr });
  await client.connect();
  try {
    const shown = Object.fromEntries(await Promise.all(Object.keys(STATE_SESSION_KEEPALIVES).map(async (name) => [name, Number((await client.query(`show ${name}`)).rows[0][name])])));
    expect(shown).toEqual(STATE_SESSION_KEEPALIVES);
  } finally {
    await client.end();
  }
});
