import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { terraformParamsSchema } from '../../contracts/kinds/terraform.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { resources } from '../fixtures/terraform/configs.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';
import { peerContext } from '../peers/context.ts';
import { startGitServer, type GitServerPeer } from '../peers/git-server.ts';

// Configuration from git: the worker fetches the ref from a real git server and plans what is there.
let ctx: Awaited<ReturnType<typeof peerContext>>;
let worker: WorkerActivities;
let git: GitServerPeer;
let commit: string;

beforeAll(async () => {
  ctx = await peerContext();
  worker = await workerActivities(ctx);
  git = await startGitServer();
  commit = git.createRepo('infra', { 'README.md': 'not terraform', 'stacks/app/main.tf': resources({ one: {}, two: {} })['main.tf']! });
});
afterAll(async () => {
  await git?.stop();
  await worker?.close();
  await ctx?.close();
});

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const plan = (input: Parameters<WorkerActivities['activities']['terraformPlan']>[0]) =>
  new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 10_000 }, { logger: quiet }).run(worker.activities.terraformPlan, input) as ReturnType<WorkerActivities['activities']['terraformPlan']>;
const params = (source: Record<string, unknown>) => terraformParamsSchema.parse({ workspace: `git-${crypto.randomUUID().slice(0, 8)}`, source });

describe('a Terraform run whose configuration is in git', () => {
  it('plans the directory of the ref it fetched and records the commit', async () => {
    const run = await createRunWithTeam(ctx.db.em);
    const result = await plan({ ...run, step: 'plan-1', params: params({ url: git.url('infra'), ref: 'main', path: 'stacks/app' }) });
    expect(result).toMatchObject({ hasChanges: true, summary: { add: 2, change: 0, destroy: 0, commit } });
  });

  it('says which ref or directory is missing, before terraform runs', async () => {
    const run = await createRunWithTeam(ctx.db.em);
    const noRef = await plan({ ...run, step: 'plan-1', params: params({ url: git.url('infra'), ref: 'no-such-branch', path: 'stacks/app' }) }).catch((e: unknown) => e);
    expect(noRef).toMatchObject({ type: FAILURE_TYPES.invalidConfig });
    expect((noRef as Error).message).toMatch(/could not fetch no-such-branch from git:\/\/127\.0\.0\.1:\d+\/infra\.git/);
    const noDir = await plan({ ...run, step: 'plan-2', params: params({ url: git.url('infra'), ref: 'main', path: 'stacks/db' }) }).catch((e: unknown) => e);
    expect((noDir as Error).message).toMatch(/stacks\/db does not exist in .* at main/);
    expect(await ctx.events.list(run.runId, 0, 10)).toEqual([]);
  });

  it('refuses params with both inline files and a source, or neither', () => {
    const both = terraformParamsSchema.safeParse({ workspace: 'w', files: { 'main.tf': '' }, source: { url: git.url('infra') } });
    expect(both.success).toBe(false);
    expect(both.error?.issues.map((i) => i.path.join('.'))).toEqual(['source']);
    const neither = terraformParamsSchema.safeParse({ workspace: 'w' });
    expect(neither.error?.issues.map((i) => i.path.join('.'))).toEqual(['files']);
    const escape = terraformParamsSchema.safeParse({ workspace: 'w', source: { url: git.url('infra'), path: '../../etc' } });
    expect(escape.error?.issues.map((i) => i.path.join('.'))).toEqual(['source.path']);
  });
});
