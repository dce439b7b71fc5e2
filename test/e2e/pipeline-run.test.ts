import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startGitHubActionsSim, type GitHubActionsSim } from '../peers/github-actions.ts';
import { startJenkinsSim, type JenkinsSim } from '../peers/jenkins.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { inOwnBrowser, screenshot, signIn } from './browser.ts';

// Pipeline runs through the API and a real worker, with the real @octokit/rest and jenkins clients
// pointed at the GitHub Actions and Jenkins simulations (test/peers/); the last one in headless
// Chromium, which needs the built dashboard (npm run build:web).
let api: TestApi;
let worker: TestWorker;
let gh: GitHubActionsSim;
let jk: JenkinsSim;
let team: { id: string; slug: string };
let admin: string;
let operator: string;
let github: string;
let jenkins: string;

type Run = { id: string; status: string; error: string | null; summary: Record<string, unknown> | null };
type Event = { type: string; message: string; data?: Record<string, unknown> };
const getRun = async (id: string): Promise<Run> => (await client(api, operator).get(`/api/v1/runs/${id}`)).body;
const events = async (id: string): Promise<Event[]> => (await client(api, operator).get(`/api/v1/runs/${id}/events?limit=5000`)).body.events;
const logLines = async (id: string) => (await events(id)).filter((e) => e.type === 'log').map((e) => e.message);
const ended = (id: string) =>
  until(`run ${id} to end`, async () => {
    const run = await getRun(id);
    return ['succeeded', 'failed', 'cancelled', 'discarded', 'timed_out'].includes(run.status) ? run : undefined;
  }, 60_000, 100);
const start = async (params: Record<string, unknown>) => {
  const res = await client(api, operator).post('/api/v1/runs', { kind: 'pipeline', team: team.slug, params });
  expect(res.status).toBe(201);
  return res.body.id as string;
};
async function integration(as: string, teamSlug: string, type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) {
  const res = await client(api, as).post('/api/v1/integrations', { team: teamSlug, type, name: `${type}-${crypto.randomUUID().slice(0, 6)}`, settings, secrets });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
const repo = () => `acme/app-${crypto.randomUUID().slice(0, 6)}`;
const job = () => `team-${crypto.randomUUID().slice(0, 4)}/build-${crypto.randomUUID().slice(0, 4)}`;

beforeAll(async () => {
  gh = await startGitHubActionsSim({ stepMs: 60 });
  jk = await startJenkinsSim({ stageMs: 60 });
  const namespace = await ownNamespace('pipeline-run');
  // The tests poll runs and events; the API's per-user budget is not what they are about.
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, RATE_LIMIT_API_PER_MINUTE: '20000' });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace });
  team = await createTeam(api.deps.db.em);
  admin = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id);
  operator = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'operator' })).id);
  github = await integration(admin, team.slug, 'github', { apiUrl: gh.url }, { token: gh.token });
  jenkins = await integration(admin, team.slug, 'jenkins', { url: jk.url, user: jk.user }, { apiToken: jk.token });
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await gh?.stop();
  await jk?.stop();
});

describe('a GitHub Actions pipeline run', () => {
  const workflow = (r: string, failing = false) => {
    gh.addRepo(r, ['main']);
    gh.addWorkflow(r, 'ci.yml', {
      inputs: { target: { default: 'staging' } },
      jobs: [
        { name: 'build', steps: [{ name: 'compile', lines: ['compiling 12 files', 'built app.tar'] }] },
        { name: 'test', steps: [{ name: 'unit', lines: ['42 passed', ...(failing ? ['1 failed'] : [])], ...(failing ? { conclusion: 'failure' as const } : {}) }] },
      ],
    });
  };

  it('dispatches once, records jobs and log lines in order, and ends with the run URL', async () => {
    const r = repo();
    workflow(r);
    const id = await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml', ref: 'main', inputs: { target: 'prod' } });
    const run = await ended(id);
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    const [only] = gh.runs(r);
    expect(gh.runs(r)).toHaveLength(1);
    expect(only!.inputs).toEqual({ target: 'prod' });
    expect(run.summary).toMatchObject({ provider: 'github', build: String(only!.id), url: `https://github.com/${r}/actions/runs/${only!.id}`, conclusion: 'success' });
    expect((run.summary!.jobs as Array<{ name: string }>).map((j) => j.name)).toEqual(['build', 'test']);
    const lines = await logLines(id);
    const at = (l: string) => lines.indexOf(l);
    expect(at('compiling 12 files')).toBeGreaterThan(-1);
    expect(at('built app.tar')).toBeGreaterThan(at('compiling 12 files'));
    expect(at('42 passed')).toBeGreaterThan(at('built app.tar'));
    expect(new Set(lines.filter((l) => /^(compiling|built|42 passed)/.test(l))).size).toBe(3);
    const steps = (await events(id)).filter((e) => e.type === 'step' && e.data?.key);
    expect(new Set(steps.map((e) => e.message)).size).toBe(steps.length);
    const said = steps.map((e) => e.message);
    // Which in-between states a poll sees depends on timing; the endings and their order do not.
    expect(said).toEqual(expect.arrayContaining(['build: success', 'build / compile: success', 'test / unit: success', 'test: success']));
    expect(said.indexOf('build / compile: success')).toBeLessThan(said.indexOf('test / unit: success'));
  });

  it('asks again for a log GitHub answered 404 just after its job completed, and stores every line', async () => {
    const r = repo();
    workflow(r);
    gh.failNext('logs', 404);
    const run = await ended(await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml' }));
    expect(run.status).toBe('succeeded');
    expect(await logLines(run.id)).toEqual(expect.arrayContaining(['compiling 12 files', 'built app.tar', '42 passed']));
  });

  it('fails naming the job and step that failed', async () => {
    const r = repo();
    workflow(r, true);
    const run = await ended(await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml' }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/the build ended failure at test \/ unit$/);
    expect(await logLines(run.id)).toContain('1 failed');
  });

  it('cancels the GitHub run when the run is cancelled, and ends cancelled once GitHub says so', async () => {
    const r = repo();
    gh.addRepo(r, ['main']);
    gh.addWorkflow(r, 'ci.yml', { jobs: [{ name: 'slow', steps: [{ name: 'wait', lines: ['waiting'], ms: 60_000 }] }] });
    const id = await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml' });
    await until('the job to run', async () => ((await events(id)).some((e) => e.message === 'slow / wait: in_progress') ? true : undefined), 30_000, 50);
    expect((await client(api, operator).post(`/api/v1/runs/${id}/cancel`, {})).status).toBe(202);
    const run = await ended(id);
    expect(run.status).toBe('cancelled');
    expect(gh.runs(r)).toEqual([expect.objectContaining({ status: 'completed', conclusion: 'cancelled', cancelRequested: true })]);
    expect(run.summary).toMatchObject({ conclusion: 'cancelled' });
  });

  it('fails at once with GitHub\'s 422 for an input the workflow does not declare', async () => {
    const r = repo();
    workflow(r);
    const run = await ended(await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml', inputs: { colour: 'blue' } }));
    expect(run.status).toBe('failed');
    expect(run.error).toBe(`github integration "${(await client(api, operator).get(`/api/v1/integrations/${github}`)).body.name}": POST /repos/${r}/actions/workflows/ci.yml/dispatches answered 422: Unexpected inputs provided: ["colour"]`);
    expect(gh.runs(r)).toHaveLength(0);
  });

  it('fails at once naming the integration when GitHub refuses the token (401), and does not retry', async () => {
    const r = repo();
    workflow(r);
    const wrong = await integration(admin, team.slug, 'github', { apiUrl: gh.url }, { token: 'ghp_wrongwrongwrong' });
    const name = (await client(api, operator).get(`/api/v1/integrations/${wrong}`)).body.name as string;
    const run = await ended(await start({ provider: 'github', integration: wrong, repository: r, workflow: 'ci.yml' }));
    expect(run.status).toBe('failed');
    expect(run.error).toBe(`github integration "${name}": POST /repos/${r}/actions/workflows/ci.yml/dispatches answered 401: Bad credentials`);
    expect(JSON.stringify(await events(run.id))).not.toContain('ghp_wrongwrongwrong');
    expect(gh.runs(r)).toHaveLength(0);
  });

  // 429: repeated at once. 503: it may have dispatched (a proxy's 5xx can come after GitHub acted), so
  // the next attempt looks for the run first (up to 30 s) and dispatches again only when none shows.
  it('repeats a dispatch GitHub answered 429, looks for the run after a 503, and dispatches once', async () => {
    const r = repo();
    workflow(r);
    gh.failNext('dispatch', 429);
    gh.failNext('dispatch', 503);
    gh.failNext('jobs', 502);
    const run = await ended(await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml' }));
    expect(run.status).toBe('succeeded');
    expect(gh.runs(r)).toHaveLength(1);
  });
  // Two dispatches of one workflow and ref whose answers are both lost would leave two runs searching for
  // builds they can tell apart only by time: the second run waits until the first's is settled.
  it('does not dispatch while another run\'s dispatch of the same workflow and ref is unsettled, and each run follows its own build', async () => {
    const r = repo();
    workflow(r);
    const first = gh.holdNextDispatchReply();
    const one = await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml', ref: 'main', inputs: { target: 'one' } });
    await first.created;
    const second = gh.holdNextDispatchReply();
    const two = await start({ provider: 'github', integration: github, repository: r, workflow: 'ci.yml', ref: 'main', inputs: { target: 'two' } });
    await until('the second run to say it waits', async () => ((await events(two)).some((e) => e.message.startsWith('waiting')) ? true : undefined), 30_000, 50);
    expect(gh.runs(r)).toHaveLength(1);
    // The first answer is lost: its run finds its build by searching, with nothing else to mistake for it.
    first.drop();
    await second.created;
    second.drop();
    const [endedOne, endedTwo] = await Promise.all([ended(one), ended(two)]);
    expect([endedOne.status, endedTwo.status]).toEqual(['succeeded', 'succeeded']);
    const dispatched = gh.runs(r);
    expect(dispatched).toHaveLength(2);
    const inputsOf = (build: unknown) => dispatched.find((d) => String(d.id) === build)?.inputs;
    expect([inputsOf(endedOne.summary!.build), inputsOf(endedTwo.summary!.build)]).toEqual([{ target: 'one' }, { target: 'two' }]);
  });
});

describe('a Jenkins pipeline run', () => {
  const stages = (last: Record<string, unknown> = {}) => [
    { name: 'Build', lines: ['mvn package', 'BUILD SUCCESS'] },
    { name: 'Test', lines: ['Tests run: 12'], ...last },
  ];

  it('triggers a folder job once with the run marker, streams the console live and succeeds', async () => {
    const path = job();
    jk.addJob(path, { parameters: { OPSSIGHT_RUN_ID: {}, ENV: { default: 'dev' } }, stages: [{ name: 'Build', lines: ['mvn package'] }, { name: 'Slow', lines: ['waiting for the lock'], ms: 1_500 }, { name: 'Done', lines: ['done'] }] });
    const id = await start({ provider: 'jenkins', integration: jenkins, job: path, parameters: { ENV: 'prod' } });
    // Live: the line of the running stage is on record while the build still runs.
    await until('the slow stage to show', async () => ((await logLines(id)).includes('waiting for the lock') ? true : undefined), 30_000, 50);
    expect(jk.builds(path)).toEqual([expect.objectContaining({ building: true })]);
    const run = await ended(id);
    expect(run.status).toBe('succeeded');
    const builds = jk.builds(path);
    expect(builds).toEqual([expect.objectContaining({ number: 1, result: 'SUCCESS', parameters: { OPSSIGHT_RUN_ID: id, ENV: 'prod' } })]);
    expect(run.summary).toMatchObject({ provider: 'jenkins', build: '1', conclusion: 'SUCCESS', url: `${jk.url}/job/${path.split('/')[0]}/job/${path.split('/')[1]}/1/` });
    const lines = await logLines(id);
    expect(lines.filter((l) => ['mvn package', 'waiting for the lock', 'done', 'Finished: SUCCESS'].includes(l))).toEqual(['mvn package', 'waiting for the lock', 'done', 'Finished: SUCCESS']);
    expect((run.summary!.jobs as Array<{ name: string; conclusion: string }>).map((j) => `${j.name}:${j.conclusion}`)).toEqual(['Build:SUCCESS', 'Slow:SUCCESS', 'Done:SUCCESS']);
  });

  it('fails on FAILURE naming the stage, and on UNSTABLE', async () => {
    const failing = job();
    jk.addJob(failing, { stages: stages({ result: 'FAILURE' }) });
    const unstable = job();
    jk.addJob(unstable, { stages: stages({ result: 'UNSTABLE' }) });
    const [a, b] = await Promise.all([
      start({ provider: 'jenkins', integration: jenkins, job: failing }).then(ended),
      start({ provider: 'jenkins', integration: jenkins, job: unstable }).then(ended),
    ]);
    expect(a.status).toBe('failed');
    expect(a.error).toMatch(/the build ended FAILURE at stage Test$/);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/the build ended UNSTABLE$/);
    expect(b.summary).toMatchObject({ conclusion: 'UNSTABLE' });
  });

  it('aborts the build when the run is cancelled', async () => {
    const path = job();
    jk.addJob(path, { stages: [{ name: 'Long', lines: ['sleeping'], ms: 60_000 }] });
    const id = await start({ provider: 'jenkins', integration: jenkins, job: path });
    await until('the stage to run', async () => ((await logLines(id)).includes('sleeping') ? true : undefined), 30_000, 50);
    expect((await client(api, operator).post(`/api/v1/runs/${id}/cancel`, {})).status).toBe(202);
    const run = await ended(id);
    expect(run.status).toBe('cancelled');
    expect(jk.builds(path)).toEqual([expect.objectContaining({ result: 'ABORTED', aborted: true })]);
    expect(await logLines(id)).toContain('Finished: ABORTED');
  });

  it('takes the item off the queue when the run is cancelled while the build waits there', async () => {
    const path = job();
    jk.addJob(path, { queueMs: 60_000, stages: stages() });
    const id = await start({ provider: 'jenkins', integration: jenkins, job: path });
    await until('the item to wait in the queue', async () => ((await events(id)).some((e) => e.message === 'waiting in the Jenkins queue') ? true : undefined), 30_000, 50);
    expect((await client(api, operator).post(`/api/v1/runs/${id}/cancel`, {})).status).toBe(202);
    const run = await ended(id);
    expect(run.status).toBe('cancelled');
    expect(jk.queued().filter((q) => q.job === path)).toEqual([expect.objectContaining({ cancelled: true })]);
    expect(jk.builds(path)).toEqual([]);
  });

  it('says so when Jenkins folds a second run\'s trigger into the first one\'s queue item (a job without the marker)', async () => {
    const path = job();
    jk.addJob(path, { stages: stages(), queueMs: 3_000 });
    const first = await start({ provider: 'jenkins', integration: jenkins, job: path });
    await until('the first trigger to be queued', async () => (jk.queued().some((q) => q.job === path) ? true : undefined), 30_000, 50);
    const second = await ended(await start({ provider: 'jenkins', integration: jenkins, job: path }));
    expect(second.status).toBe('failed');
    expect(second.error).toContain(`Jenkins folded this trigger into the queue item run ${first} is waiting for`);
    expect((await ended(first)).status).toBe('succeeded');
    expect(jk.builds(path)).toHaveLength(1);
  });

  it('after a trigger Jenkins answered 503, looks for the build by the run marker and triggers once', async () => {
    const path = job();
    jk.addJob(path, { parameters: { OPSSIGHT_RUN_ID: {} }, stages: stages() });
    jk.failNext('trigger', 503);
    jk.failNext('log', 500);
    const run = await ended(await start({ provider: 'jenkins', integration: jenkins, job: path }));
    expect(run.status).toBe('succeeded');
    expect(jk.builds(path)).toHaveLength(1);
  });
});

describe('pipeline params and secrets', () => {
  it('refuses bad params with 400 naming the field, and starts nothing', async () => {
    const other = await createTeam(api.deps.db.em);
    const otherAdmin = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [other], role: 'admin' })).id);
    const foreign = await integration(otherAdmin, other.slug, 'github', { apiUrl: gh.url }, { token: gh.token });
    const before = (await client(api, operator).get(`/api/v1/runs?team=${team.slug}&limit=200`)).body.runs.length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ provider: 'gitlab', integration: github, repository: 'a/b', workflow: 'ci.yml' }, /provider/],
      [{ provider: 'github', integration: github, repository: 'a/b', workflow: 'ci.yml', inputs: Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`i${i}`, 'x'])) }, /inputs/],
      [{ provider: 'github', integration: github, repository: 'not a repo', workflow: 'ci.yml' }, /repository/],
      [{ provider: 'jenkins', integration: jenkins, job: 'a//b' }, /job/],
      [{ provider: 'github', integration: foreign, repository: 'a/b', workflow: 'ci.yml' }, /integration/],
    ];
    for (const [params, field] of cases) {
      const res = await client(api, operator).post('/api/v1/runs', { kind: 'pipeline', team: team.slug, params });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(JSON.stringify(res.body)).toMatch(field);
    }
    expect((await client(api, operator).get(`/api/v1/runs?team=${team.slug}&limit=200`)).body.runs.length).toBe(before);
  });

  it('redacts the integration\'s token from the lines a build prints', async () => {
    const r = repo();
    gh.addRepo(r, ['main']);
    gh.addWorkflow(r, 'leak.yml', { jobs: [{ name: 'debug', steps: [{ name: 'env', lines: [`GH_TOKEN=${gh.token}`, 'done'] }] }] });
    const path = job();
    const basic = Buffer.from(`${jk.user}:${jk.token}`).toString('base64');
    jk.addJob(path, { parameters: { OPSSIGHT_RUN_ID: {} }, stages: [{ name: 'Debug', lines: [`> Authorization: Basic ${basic}`, `token ${jk.token} ok`] }] });
    const ghRun = await start({ provider: 'github', integration: github, repository: r, workflow: 'leak.yml', ref: 'main' });
    const jkRun = await start({ provider: 'jenkins', integration: jenkins, job: path });
    expect((await ended(ghRun)).status).toBe('succeeded');
    expect((await ended(jkRun)).status).toBe('succeeded');
    expect(await logLines(ghRun)).toEqual(expect.arrayContaining(['GH_TOKEN=[redacted]', 'done']));
    expect(await logLines(jkRun)).toEqual(expect.arrayContaining(['> Authorization: Basic [redacted]', 'token [redacted] ok']));
  });

  it('never shows a token: not in the integration, the kinds list or any run event', async () => {
    for (const id of [github, jenkins]) {
      const res = await client(api, admin).get(`/api/v1/integrations/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.secretFields).toEqual([id === github ? 'token' : 'apiToken']);
      expect(JSON.stringify(res.body)).not.toContain(gh.token);
      expect(JSON.stringify(res.body)).not.toContain(jk.token);
    }
    const kinds = await client(api, operator).get('/api/v1/kinds');
    expect(JSON.stringify(kinds.body)).toContain('"pipeline"');
    const runs = (await client(api, operator).get(`/api/v1/runs?team=${team.slug}&limit=200`)).body.runs as Array<{ id: string }>;
    expect(runs.length).toBeGreaterThan(5);
    for (const r of runs) {
      const text = JSON.stringify([await events(r.id), await getRun(r.id)]);
      expect(text).not.toContain(gh.token);
      expect(text).not.toContain(jk.token);
      expect(text).not.toContain(Buffer.from(`${jk.user}:${jk.token}`).toString('base64'));
    }
  });
});

describe('in the dashboard', () => {
  it('starts a Jenkins pipeline from the generated form and shows its build and stages on the run page', async () => {
    if (!existsSync('web/dist/index.html')) throw new Error('web/dist is missing: run `npm run build:web` first');
    const name = job();
    jk.addJob(name, { parameters: { OPSSIGHT_RUN_ID: {} }, stages: [{ name: 'Build', lines: ['mvn package'] }, { name: 'Test', lines: ['Tests run: 12, Failures: 1'], result: 'FAILURE' }] });
    const person = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, person);
      await page.getByRole('link', { name: 'Start a run' }).first().click();
      const form = page.getByTestId('start-form');
      await form.getByLabel('Kind').selectOption('pipeline');
      // The params are one of two shapes: the provider picks which fields show, and what both have stays typed.
      await form.getByLabel('Integration').fill(jenkins);
      await form.getByLabel('Repository').waitFor();
      await form.getByLabel('Provider').selectOption('jenkins');
      await form.getByLabel('Job').fill(name);
      expect(await form.getByLabel('Repository').count()).toBe(0);
      expect(await form.getByLabel('Integration').inputValue()).toBe(jenkins);
      await form.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split('/').pop()!;
      await page.locator('h1 [data-status=failed]').waitFor({ timeout: 60_000 });
      const panel = page.getByTestId('run-pipeline');
      const [folder, leaf] = name.split('/');
      expect(await panel.getByRole('link', { name: 'build 1 in Jenkins' }).getAttribute('href')).toBe(`${jk.url}/job/${folder}/job/${leaf}/1/`);
      expect(await panel.locator('tr[data-job=Build] .badge').textContent()).toBe('SUCCESS');
      expect(await panel.locator('tr[data-job=Test] .badge').textContent()).toBe('FAILURE');
      expect(jk.builds(name)).toEqual([expect.objectContaining({ parameters: { OPSSIGHT_RUN_ID: runId } })]);
      await screenshot(page, 'pipeline-run');
    });
  });
});
