import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { initOrm } from '../../db/orm.ts';
import { createUser } from '../fixtures/users.ts';
import { startGitHubActionsSim, type GitHubActionsSim } from '../peers/github-actions.ts';
import { startJenkinsSim, type JenkinsSim } from '../peers/jenkins.ts';
import { stopProcess } from '../peers/processes.ts';
import { recordFault } from './report.ts';
import { useFaultStack } from './stack.ts';

// Worker processes are killed with SIGKILL after GitHub (or Jenkins) created the build but before the
// worker heard the reply, and once more while the build's log is being stored. The run must end
// succeeded on the next workers with exactly one build on the peer and every log line stored once.
const stack = useFaultStack({ workers: 0 });
let gh: GitHubActionsSim;
let jk: JenkinsSim;
let token: string;
let github: string;
let jenkins: string;

beforeAll(async () => {
  gh = await startGitHubActionsSim({ stepMs: 100 });
  jk = await startJenkinsSim({ stageMs: 100 });
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const admin = await createUser(orm.em, { teams: [stack().team], role: 'admin' });
  await orm.close();
  token = (await stack().call('POST', '/api/v1/auth/login', undefined, { email: admin.email, password: admin.password })).body.accessToken;
  const add = async (type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) => {
    const res = await stack().call('POST', '/api/v1/integrations', token, { team: stack().team.slug, type, name: type, settings, secrets });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  github = await add('github', { apiUrl: gh.url }, { token: gh.token });
  jenkins = await add('jenkins', { url: jk.url, user: jk.user }, { apiToken: jk.token });
}, 60_000);
afterAll(async () => {
  await gh?.stop();
  await jk?.stop();
});

/** The lines each case's build writes, long enough that the second kill lands while they are stored. */
const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`);

type Case = { name: string; params: Record<string, unknown>; hold: () => { created: Promise<unknown>; release(): void; drop(): void }; builds: () => number; expected: string[] };

function cases(): Case[] {
  const repo = `acme/kill-${crypto.randomUUID().slice(0, 6)}`;
  gh.addRepo(repo, ['main']);
  const ghLines = [...lines('build', 20), ...lines('test', 20)];
  gh.addWorkflow(repo, 'ci.yml', {
    jobs: [
      { name: 'build', steps: [{ name: 'compile', lines: ghLines.slice(0, 20), ms: 300 }] },
      { name: 'test', steps: [{ name: 'unit', lines: ghLines.slice(20), ms: 1_500 }] },
    ],
  });
  const marked = `kill/marked-${crypto.randomUUID().slice(0, 4)}`;
  const plain = `kill/plain-${crypto.randomUUID().slice(0, 4)}`;
  const jkStages = (tag: string) => [
    { name: 'Build', lines: lines(`${tag} build`, 20), ms: 300 },
    { name: 'Test', lines: lines(`${tag} test`, 20), ms: 1_500 },
  ];
  jk.addJob(marked, { parameters: { OPSSIGHT_RUN_ID: {} }, stages: jkStages('marked') });
  // A job that does not declare OPSSIGHT_RUN_ID: its build is found by user and time, unclaimed.
  jk.addJob(plain, { stages: jkStages('plain') });
  return [
    { name: 'github', params: { provider: 'github', integration: github, repository: repo, workflow: 'ci.yml' }, hold: () => gh.holdNextDispatchReply(), builds: () => gh.runs(repo).length, expected: ghLines },
    { name: 'jenkins (run marker)', params: { provider: 'jenkins', integration: jenkins, job: marked }, hold: () => jk.holdNextTriggerReply(), builds: () => jk.builds(marked).length, expected: [...lines('marked build', 20), ...lines('marked test', 20)] },
    { name: 'jenkins (no marker)', params: { provider: 'jenkins', integration: jenkins, job: plain }, hold: () => jk.holdNextTriggerReply(), builds: () => jk.builds(plain).length, expected: [...lines('plain build', 20), ...lines('plain test', 20)] },
  ];
}

it('worker kill -9 after the CI system created the build, and again mid-log: one build, every line once', async () => {
  const outcomes: Array<{ ok: boolean; why: string }> = [];
  let workers = [await stack().worker(), await stack().worker()];
  const killAll = async () => {
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = await Promise.all([stack().worker(), stack().worker()]);
  };
  for (const c of cases()) {
    const held = c.hold();
    const res = await stack().call('POST', '/api/v1/runs', token, { kind: 'pipeline', team: stack().team.slug, params: c.params });
    expect(res.status).toBe(201);
    const runId = res.body.id as string;
    await held.created;
    await killAll();
    held.drop();
    // The second kill: some of the build's first lines are stored, not all of its lines.
    await stack().untilRuns([runId], `${c.name}: the first lines to be stored`, async () => ((await stack().logLines(runId)).some((l) => l.message === c.expected[0]) ? true : undefined), 60_000, 50);
    await killAll();

    const final = await stack().ended(runId, 120_000);
    const stored = (await stack().logLines(runId)).map((l) => l.message);
    const twice = c.expected.filter((l) => stored.filter((s) => s === l).length !== 1);
    const inOrder = JSON.stringify(stored.filter((s) => c.expected.includes(s))) === JSON.stringify(c.expected);
    const ok = final.status === 'succeeded' && c.builds() === 1 && twice.length === 0 && inOrder;
    outcomes.push({ ok, why: `${c.name}: ${final.status} ${final.error ?? ''}, ${c.builds()} build(s), lines not stored exactly once: ${JSON.stringify(twice.slice(0, 5))}, in order: ${inOrder}` });
  }
  recordFault({ fault: 'worker kill -9 mid pipeline trigger', passed: outcomes.filter((o) => o.ok).length, rounds: outcomes.length, detail: 'killed after GitHub/Jenkins created the build before the reply, and again while its log was stored: one build, run succeeded, every line once in order' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
}, 600_000);
