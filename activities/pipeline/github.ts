import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Octokit } from '@octokit/rest';
import type { GitHubSecrets, GitHubSettings } from '../../contracts/integrations/github.ts';
import type { GitHubPipeline, PipelineBuild, PipelineEnd, PipelineJob } from '../../contracts/kinds/pipeline.ts';
import { ApplicationFailure } from '@temporalio/common';
import { claimBuild, claimedKeys, findPipelineBuild, forgetTrigger, recordTrigger, unsettledDispatch } from '../../db/repositories/pipeline-builds.ts';
import { FollowLock } from '../process/follow-lock.ts';
import { REQUEST_TIMEOUT_MS, callCi, pipelineFailure, retryAfterMs, type CiAnswer } from './http-retry.ts';
import { pacer, type PipelineRecord } from './record.ts';

/** How long after a dispatch of unknown outcome its run may take to show in the runs list. */
export const ADOPT_WAIT_MS = 30_000;
/** How long a completed job's log may answer 404 before it counts as missing. */
const LOG_GRACE_MS = 60_000;
/** GitHub's clock and ours differ: runs created this long before our record still count as candidates. */
const CLOCK_SKEW_MS = 60_000;
/**
 * Another run's dispatch of unknown outcome holds back this run's own for at most this long after it
 * was made: past it, that dispatch's build is older than anything this run's search counts.
 */
const UNSETTLED_MS = ADOPT_WAIT_MS + 2 * CLOCK_SKEW_MS;

export type GitHubTarget = { integration: string; name: string; settings: GitHubSettings; secrets: GitHubSecrets };
/** What a trigger needs beyond the client: the database for the dispatch lock, and a line on the run's record. */
export type GitHubTriggerEnv = { databaseUrl: string; note: (message: string) => Promise<void> };

type Run = { id: number; status: string | null; conclusion: string | null; html_url: string; created_at: string; event: string; head_branch: string | null; actor?: { login: string } | null };
type Step = { name: string; number: number; status: string; conclusion: string | null };
type Job = { id: number; name: string; status: string; conclusion: string | null; steps?: Step[] };

/** Octokit loads on a worker's first GitHub pipeline (it is ESM and not small). */
async function octokitFor(t: GitHubTarget): Promise<Octokit> {
  const { Octokit } = await import('@octokit/rest');
  // Silent: Octokit's own warnings would go to the worker's stdout, outside the run's record.
  const quiet = () => undefined;
  // Every request ends within REQUEST_TIMEOUT_MS or when the step is cancelled: a half-open connection
  // must not hold up a cancel or the run's timeout.
  const cancelled = Context.current().cancellationSignal;
  const fetchBounded: typeof fetch = (input, init) => fetch(input, { ...init, signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), cancelled, ...(init?.signal ? [init.signal] : [])]) });
  return new Octokit({ auth: t.secrets.token, baseUrl: t.settings.apiUrl.replace(/\/$/, ''), userAgent: 'opssight', log: { debug: quiet, info: quiet, warn: quiet, error: quiet }, request: { fetch: fetchBounded } });
}

const answerOf = (err: unknown): CiAnswer | undefined => {
  const e = err as { status?: number; response?: { headers?: Record<string, string>; data?: { message?: string } }; message?: string; name?: string };
  if (e?.name !== 'HttpError' || typeof e.status !== 'number' || e.status === 500 && !e.response) return undefined;
  return { status: e.status, message: e.response?.data?.message ?? e.message ?? '', retryAfterMs: retryAfterMs(e.response?.headers) };
};

/** One GitHub pipeline: its client, the calls with retries, and the run's place in PostgreSQL. */
export async function gitHubPipeline(em: EntityManager, runId: string, t: GitHubTarget, p: GitHubPipeline, env: GitHubTriggerEnv) {
  if (t.settings.owner && p.repository.split('/')[0]!.toLowerCase() !== t.settings.owner.toLowerCase()) {
    throw pipelineFailure(`github integration "${t.name}" may only run workflows of ${t.settings.owner}'s repositories, not ${p.repository}`);
  }
  const gh = await octokitFor(t);
  const [owner, repo] = p.repository.split('/') as [string, string];
  const workflowId = /^\d+$/.test(p.workflow) ? Number(p.workflow) : p.workflow;
  const call = <T>(what: string, fn: () => Promise<T>, opts?: { creates?: boolean }) => callCi(what, `github integration "${t.name}"`, answerOf, fn, opts);
  // A run id is unique within a GitHub instance: the key is the instance and the id, nothing a run's
  // params spell (the repository's case may differ between two runs naming the same one).
  const keyOf = (id: number) => `github:${new URL(t.settings.apiUrl).host}/runs/${id}`;
  const htmlOf = (id: number) => `${t.settings.apiUrl.replace(/\/api\/v3\/?$/, '').replace('//api.', '//')}/${p.repository}/actions/runs/${id}`;

  async function login(): Promise<string | undefined> {
    // Fine-grained and classic tokens have a user; a GitHub App's token does not (403): no actor filter then.
    return gh.rest.users.getAuthenticated().then((r) => r.data.login, () => undefined);
  }

  /** The workflow_dispatch runs of this workflow and ref created since `since` that no run has claimed, oldest first. */
  async function unclaimed(since: Date, actor: string | undefined): Promise<Run[]> {
    // Whole seconds: GitHub's search syntax for `created` takes ISO 8601 times without fractions.
    const from = new Date(since.getTime() - CLOCK_SKEW_MS);
    const res = await call(`GET /repos/${p.repository}/actions/workflows/${p.workflow}/runs`, () =>
      gh.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', {
        owner, repo, workflow_id: workflowId, event: 'workflow_dispatch', branch: p.ref, per_page: 100, created: `>=${from.toISOString().replace(/\.\d{3}Z$/, 'Z')}`, ...(actor ? { actor } : {}),
      }),
    );
    const runs = (res.data.workflow_runs as Run[]).filter((r) => r.event === 'workflow_dispatch' && Date.parse(r.created_at) >= from.getTime() && (!actor || r.actor?.login === actor));
    const claimed = await claimedKeys(em, runs.map((r) => keyOf(r.id)));
    return runs.filter((r) => !claimed.has(keyOf(r.id))).sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
  }

  /** Adopts the first unclaimed run of the dispatch recorded at `since`, waiting up to ADOPT_WAIT_MS after it for one to show. */
  async function adopt(since: Date): Promise<PipelineBuild | undefined> {
    const ctx = Context.current();
    const actor = await login();
    const until = Math.max(since.getTime() + ADOPT_WAIT_MS, Date.now() + 2_000);
    for (;;) {
      for (const r of await unclaimed(since, actor)) {
        const build = { key: keyOf(r.id), id: String(r.id), url: r.html_url };
        if (await claimBuild(em, runId, build)) return { id: build.id, url: build.url };
      }
      if (Date.now() >= until) return undefined;
      ctx.heartbeat();
      await ctx.sleep(1_000);
    }
  }

  /**
   * One dispatch at a time per workflow and ref (on this GitHub host), from the record to the claim, and
   * none while another run's dispatch of it has an unknown outcome: the search that finds a run after a
   * lost answer tells runs apart only by workflow, ref, actor and time, so two such dispatches at once
   * could each adopt the other's run. Answers the run that holds this one back, or the build.
   */
  async function triggerHolding(): Promise<PipelineBuild | { waitFor: string }> {
    const found = await findPipelineBuild(em, runId);
    if (found?.buildId) return { id: found.buildId, url: found.buildUrl! };
    if (found) {
      const adopted = await adopt(found.triggeredAt);
      if (adopted) return adopted;
    }
    const other = await unsettledDispatch(em, runId, p, UNSETTLED_MS);
    if (other) return { waitFor: other };
    const record = await recordTrigger(em, runId, 'github');
    if (!record) return triggerHolding();
    // 429 means GitHub did not dispatch (callCi repeats it); a 5xx or no answer leaves it unknown, for the next attempt to look.
    const res = await call(`POST /repos/${p.repository}/actions/workflows/${p.workflow}/dispatches`, () =>
      gh.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', { owner, repo, workflow_id: workflowId, ref: p.ref, inputs: p.inputs, return_run_details: true }),
      { creates: true },
    ).catch(async (err: unknown) => {
      // GitHub answered that it did not dispatch: no run of it will show, so nothing should wait for one.
      if (err instanceof ApplicationFailure) await forgetTrigger(em, runId);
      throw err;
    });
    const details = res.status === 200 ? (res.data as unknown as { workflow_run_id?: number; html_url?: string }) : undefined;
    if (details?.workflow_run_id) {
      const build = { key: keyOf(details.workflow_run_id), id: String(details.workflow_run_id), url: details.html_url ?? htmlOf(details.workflow_run_id) };
      if (!(await claimBuild(em, runId, build))) throw new Error(`GitHub answered run ${build.id}, which another run has claimed`);
      return { id: build.id, url: build.url };
    }
    // A server without run details (204, older GitHub Enterprise): the run is found as after a crash.
    const adopted = await adopt(record.triggeredAt);
    if (!adopted) throw pipelineFailure(`github integration "${t.name}": the dispatch was accepted but no run of ${p.workflow} on ${p.ref} appeared within ${ADOPT_WAIT_MS / 1000}s`);
    return adopted;
  }

  return {
    /**
     * Dispatches the workflow once. The record that a dispatch is being made is committed first; an
     * attempt that finds it without a build looks for the run that dispatch created before making another.
     */
    async trigger(): Promise<PipelineBuild> {
      const ctx = Context.current();
      const lock = new FollowLock(env.databaseUrl, `github-dispatch:${new URL(t.settings.apiUrl).host}/${p.repository.toLowerCase()}/${p.workflow}/${p.ref}`);
      let noted: string | undefined;
      const note = async (why: string, message: string) => {
        if (noted !== why) await env.note(message);
        noted = why;
      };
      for (;;) {
        // The lock is released while waiting, so the run waited for can take it to settle its dispatch.
        if (await lock.take()) {
          try {
            const outcome = await triggerHolding();
            if (!('waitFor' in outcome)) return outcome;
            await note(outcome.waitFor, `waiting for run ${outcome.waitFor}: its dispatch of ${p.workflow} on ${p.ref} has not been matched to a GitHub run yet`);
          } finally {
            await lock.release();
          }
        } else await note('lock', `waiting: another run is dispatching ${p.workflow} on ${p.ref}`);
        ctx.heartbeat();
        await ctx.sleep(500);
      }
    },

    /** Follows the run: job and step changes as they happen, each job's log once it completed (GitHub serves it only then). */
    async follow(build: PipelineBuild, record: PipelineRecord): Promise<PipelineEnd> {
      const runIdNum = Number(build.id);
      const logged = new Set<number>();
      const missingSince = new Map<number, number>();
      const pace = pacer(250, 5_000);
      for (;;) {
        const run = (await call(`GET /repos/${p.repository}/actions/runs/${build.id}`, () => gh.rest.actions.getWorkflowRun({ owner, repo, run_id: runIdNum }))).data as Run;
        const jobs = (await call(`GET /repos/${p.repository}/actions/runs/${build.id}/jobs`, () =>
          gh.paginate(gh.rest.actions.listJobsForWorkflowRun, { owner, repo, run_id: runIdNum, per_page: 100 }),
        )) as Job[];
        for (const job of jobs) {
          await jobChanges(job, record, pace.changed);
          if (job.status === 'completed' && !logged.has(job.id)) {
            if (await jobLog(job, record)) {
              logged.add(job.id);
              pace.changed();
              continue;
            }
            // GitHub can answer 404 for a moment after a job completed, while it stores the log: a
            // job that ran steps is asked again for a while before its log counts as missing.
            const since = missingSince.get(job.id) ?? Date.now();
            missingSince.set(job.id, since);
            if (!ranSteps(job) || Date.now() - since > LOG_GRACE_MS) {
              logged.add(job.id);
              if (ranSteps(job)) await record.state(`log:${job.id}`, 'missing', `${job.name}: GitHub had no log for it`, { job: job.name });
            }
          }
        }
        if (run.status === 'completed' && jobs.every((j) => j.status === 'completed' && logged.has(j.id))) return endOf(run, jobs);
        await pace.pause();
      }
    },

    /** Asks GitHub to cancel the run; 409 means it has completed already. */
    async cancel(build: PipelineBuild): Promise<PipelineBuild> {
      await call(`POST /repos/${p.repository}/actions/runs/${build.id}/cancel`, () => gh.rest.actions.cancelWorkflowRun({ owner, repo, run_id: Number(build.id) })).catch((err: unknown) => {
        if (!/answered 409/.test((err as Error).message)) throw err;
      });
      return build;
    },
  };

  async function jobChanges(job: Job, record: PipelineRecord, changed: () => void) {
    const jobState = job.conclusion ?? job.status;
    if (await record.state(`job:${job.id}`, jobState, `${job.name}: ${jobState}`, { job: job.name })) changed();
    for (const s of job.steps ?? []) {
      const state = s.conclusion ?? s.status;
      if (state === 'queued') continue;
      if (await record.state(`step:${job.id}:${s.number}`, state, `${job.name} / ${s.name}: ${state}`, { job: job.name, step: s.name })) changed();
    }
  }

  /** Stores the job's log lines not stored yet; false when GitHub has no log for it (404). */
  async function jobLog(job: Job, record: PipelineRecord): Promise<boolean> {
    const src = `github-job:${job.id}`;
    const res = await call(`GET /repos/${p.repository}/actions/jobs/${job.id}/logs`, () =>
      gh.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', { owner, repo, job_id: job.id }),
    ).catch((err: unknown) => {
      if (/answered 404/.test((err as Error).message)) return undefined;
      throw err;
    });
    if (!res) return false;
    const raw = typeof res?.data === 'string' ? res.data : res?.data instanceof ArrayBuffer ? Buffer.from(res.data).toString('utf8') : '';
    // The log starts with a byte order mark.
    const text = raw.replace(/^\uFEFF/, '');
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    // GitHub prefixes every line with its time; the event has a time of its own.
    await record.lines(src, lines.map((l, i) => ({ text: l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /, ''), off: i + 1 })), { job: job.name });
    return true;
  }
}

/** A job that never ran a step (skipped, cancelled while queued) has no log to wait for. */
const ranSteps = (job: Job) => (job.steps ?? []).some((s) => s.status === 'completed' && s.conclusion !== 'skipped');

function endOf(run: Run, jobs: Job[]): PipelineEnd {
  const list: PipelineJob[] = jobs.map((j) => ({ name: j.name, status: j.status, conclusion: j.conclusion }));
  const c = run.conclusion;
  if (c === 'success' || c === 'neutral' || c === 'skipped') return { outcome: 'succeeded', conclusion: c, jobs: list };
  if (c === 'cancelled') return { outcome: 'cancelled', conclusion: c, jobs: list };
  const job = jobs.find((j) => j.conclusion === 'failure') ?? jobs.find((j) => j.conclusion && j.conclusion !== 'success' && j.conclusion !== 'skipped');
  const step = job?.steps?.find((s) => s.conclusion === 'failure');
  return { outcome: 'failed', conclusion: c, jobs: list, ...(job ? { failedAt: step ? `${job.name} / ${step.name}` : job.name } : {}) };
}
