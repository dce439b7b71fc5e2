import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JenkinsSecrets, JenkinsSettings } from '../../contracts/integrations/jenkins.ts';
import { RUN_ID_PARAMETER, type JenkinsPipeline, type PipelineBuild, type PipelineEnd, type PipelineJob } from '../../contracts/kinds/pipeline.ts';
import { onFirstUse } from '../../core/first-use.ts';
import { claimBuild, claimedKeys, findPipelineBuild, recordQueueItem, recordTrigger } from '../../db/repositories/pipeline-builds.ts';
import { REQUEST_TIMEOUT_MS, callCi, pipelineFailure, retryAfterMs, type CiAnswer } from './http-retry.ts';
import { pacer, type PipelineRecord } from './record.ts';

/** How long after a trigger of unknown outcome (a job without OPSSIGHT_RUN_ID) its build is looked for. */
export const JENKINS_ADOPT_WAIT_MS = 30_000;
const CLOCK_SKEW_MS = 60_000;

export type JenkinsTarget = { integration: string; name: string; settings: JenkinsSettings; secrets: JenkinsSecrets };

type Param = { name: string; value: unknown };
type Action = { parameters?: Param[]; causes?: Array<{ userId?: string }> };
type QueueItem = { id: number; cancelled?: boolean; executable?: { number: number; url: string } | null; actions?: Action[]; task?: { url?: string }; inQueueSince?: number };
type BuildJson = { number: number; url: string; result: string | null; building: boolean; timestamp: number; actions?: Action[] };
type JobJson = { url: string; builds?: Array<{ number: number }>; property?: Array<{ parameterDefinitions?: Array<{ name: string }> }> };

/** The part of the `jenkins` package (github:silas/node-jenkins) used here; it ships no types. */
type JenkinsClient = {
  job: { build(o: { name: string; parameters?: Record<string, string> }): Promise<number>; get(o: { name: string; depth?: number; tree?: string }): Promise<JobJson> };
  build: {
    get(o: { name: string; number: number; tree?: string }): Promise<BuildJson>;
    stop(o: { name: string; number: number }): Promise<void>;
    log(o: { name: string; number: number; start: number; meta: true }): Promise<{ text: string; more: boolean; size?: string }>;
  };
  queue: { item(o: { number: number }): Promise<QueueItem>; list(o?: { tree?: string }): Promise<QueueItem[]> };
  _post(req: Record<string, unknown>, ...mw: unknown[]): Promise<unknown>;
};
// CommonJS, loaded on a worker's first Jenkins pipeline.
const jenkinsClass = onFirstUse<new (opts: Record<string, unknown>) => JenkinsClient>('jenkins');

const answerOf = (err: unknown): CiAnswer | undefined => {
  const e = err as { statusCode?: number; response?: { headers?: Record<string, string> }; message?: string };
  if (typeof e?.statusCode !== 'number') return undefined;
  // papi prefixes "jenkins: <call>: "; what Jenkins said is the rest.
  return { status: e.statusCode, message: (e.message ?? '').replace(/^jenkins: [\w.]+: /, ''), retryAfterMs: retryAfterMs(e.response?.headers) };
};

type Middleware = (ctx: { err?: Error; res?: { statusCode: number } }, next: (err?: Error | false) => void) => void;
// Jenkins answers a done POST with a redirect (older versions) or 204; papi counts a redirect as an error.
const redirectIsDone: Middleware = (ctx, next) => {
  if (ctx.err && ctx.res && ctx.res.statusCode >= 300 && ctx.res.statusCode < 400) delete ctx.err;
  next();
};
const done: Middleware = (ctx, next) => next(ctx.err ?? false);

const paramsOf = (actions: Action[] | undefined) => Object.fromEntries((actions ?? []).flatMap((a) => a.parameters ?? []).map((p) => [p.name, String(p.value ?? '')]));
const userOf = (actions: Action[] | undefined) => (actions ?? []).flatMap((a) => a.causes ?? []).find((c) => c.userId)?.userId;

export async function jenkinsPipeline(em: EntityManager, runId: string, t: JenkinsTarget, p: JenkinsPipeline) {
  const Jenkins = jenkinsClass();
  const root = t.settings.url.replace(/\/$/, '');
  const jenkins = new Jenkins({
    baseUrl: root,
    headers: { authorization: `Basic ${Buffer.from(`${t.settings.user}:${t.secrets.apiToken}`).toString('base64')}` },
    // A request made with an API token needs no CSRF crumb (Jenkins 2.96+).
    crumbIssuer: false,
    // A request that never answers (a half-open connection) ends, so a cancel or the run's timeout is not held up by it.
    timeout: REQUEST_TIMEOUT_MS,
  });
  const call = <T>(what: string, fn: () => Promise<T>, opts?: { creates?: boolean }) => callCi(what, `jenkins integration "${t.name}"`, answerOf, fn, opts);
  const name = p.job;
  const keyOf = (n: number) => `jenkins:${new URL(root).host}${new URL(root).pathname.replace(/\/$/, '')}/${p.job}#${n}`;

  /** Waits until the queue item becomes a build (heartbeating), and claims it; undefined when it was cancelled in the queue. */
  async function fromQueue(queueId: number): Promise<PipelineBuild | undefined> {
    const ctx = Context.current();
    const pace = pacer(200, 2_000);
    for (;;) {
      const item = await call(`GET queue/item/${queueId}`, () => jenkins.queue.item({ number: queueId }));
      if (item.cancelled) return undefined;
      if (item.executable) return claim(item.executable.number, item.executable.url);
      ctx.heartbeat();
      await pace.pause();
    }
  }

  async function claim(n: number, url: string): Promise<PipelineBuild> {
    if (!(await claimBuild(em, runId, { key: keyOf(n), id: String(n), url }))) throw new Error(`build #${n} of ${p.job} is claimed by another run`);
    return { id: String(n), url };
  }

  /** Whether the job declares OPSSIGHT_RUN_ID (Jenkins drops parameters a job does not declare), and whether it has parameters at all. */
  async function declared(): Promise<{ marker: boolean; parameterized: boolean }> {
    const job = await call(`GET ${p.job}`, () => jenkins.job.get({ name, tree: 'url,property[parameterDefinitions[name]]' }));
    const names = (job.property ?? []).flatMap((pr) => pr.parameterDefinitions ?? []).map((d) => d.name);
    return { marker: names.includes(RUN_ID_PARAMETER), parameterized: names.length > 0 };
  }

  /**
   * Finds what an earlier trigger of unknown outcome made: a queue item or build carrying the run's
   * marker or, for a job that does not declare it, a build by our user since the trigger that no run
   * has claimed (waiting up to JENKINS_ADOPT_WAIT_MS for one).
   */
  async function find(since: Date, marker: boolean): Promise<{ queueId: number } | { number: number; url: string } | undefined> {
    const ctx = Context.current();
    const until = Math.max(since.getTime() + JENKINS_ADOPT_WAIT_MS, Date.now() + 2_000);
    for (;;) {
      const queue = await call('GET queue/api/json', () => jenkins.queue.list({ tree: 'items[id,actions[parameters[name,value]],task[url]]' }));
      const jobUrl = (await call(`GET ${p.job}`, () => jenkins.job.get({ name, tree: 'url' }))).url;
      const mine = queue.find((i) => i.task?.url === jobUrl && paramsOf(i.actions)[RUN_ID_PARAMETER] === runId);
      if (marker && mine) return { queueId: mine.id };
      const job = await call(`GET ${p.job}`, () => jenkins.job.get({ name, tree: 'builds[number,url,timestamp,actions[parameters[name,value],causes[userId]]]{0,50}' }));
      // The newest builds, with their parameters and causes (a controller may ignore `tree` and list numbers only).
      const listed = ((job as unknown as { builds?: Array<BuildJson | { number: number }> }).builds ?? []).slice(0, 10);
      const builds = (await Promise.all(listed.map((b) => ('actions' in b && 'timestamp' in b ? b : call(`GET ${p.job}/${b.number}`, () => jenkins.build.get({ name, number: b.number })))))).reverse();
      if (marker) {
        const b = builds.find((x) => paramsOf(x.actions)[RUN_ID_PARAMETER] === runId);
        if (b) return { number: b.number, url: b.url };
        // With the marker the queue item is made before Jenkins answers: none anywhere means none was made.
        return undefined;
      }
      const claimed = await claimedKeys(em, builds.map((b) => keyOf(b.number)));
      const b = builds.find((x) => x.timestamp >= since.getTime() - CLOCK_SKEW_MS && userOf(x.actions) === t.settings.user && !claimed.has(keyOf(x.number)));
      if (b) return { number: b.number, url: b.url };
      if (Date.now() >= until) return undefined;
      ctx.heartbeat();
      await ctx.sleep(1_000);
    }
  }

  return {
    /**
     * Triggers the job once and records its queue item: null while the item waits in the queue (the
     * wait is awaitBuild's, which a cancel or the timeout may interrupt), else the build.
     */
    async trigger(): Promise<PipelineBuild | null> {
      const found = await findPipelineBuild(em, runId);
      if (found?.buildId) return { id: found.buildId, url: found.buildUrl! };
      if (found?.queueId) return null;
      const shape = await declared();
      if (found) {
        const earlier = await find(found.triggeredAt, shape.marker);
        if (earlier && 'queueId' in earlier) {
          await recordQueueItem(em, runId, earlier.queueId, t.integration);
          return null;
        }
        if (earlier) return claim(earlier.number, earlier.url);
      }
      if (!(await recordTrigger(em, runId, 'jenkins'))) return this.trigger();
      const parameters = { ...p.parameters, ...(shape.marker ? { [RUN_ID_PARAMETER]: runId } : {}) };
      const queueId = await call(`POST ${p.job}/build`, () => jenkins.job.build({ name, ...(shape.parameterized ? { parameters } : {}) }), { creates: true });
      const folded = await recordQueueItem(em, runId, queueId, t.integration);
      if (folded) {
        throw pipelineFailure(
          `jenkins integration "${t.name}": Jenkins folded this trigger into the queue item run ${folded} is waiting for (it makes one build of identical requests waiting in its queue); declare the ${RUN_ID_PARAMETER} parameter on ${p.job} so each run gets a build of its own`,
        );
      }
      return null;
    },

    /** Waits for the recorded queue item to become a build; null when it was cancelled in the queue. */
    async awaitBuild(): Promise<PipelineBuild | null> {
      const found = await findPipelineBuild(em, runId);
      if (found?.buildId) return { id: found.buildId, url: found.buildUrl! };
      if (!found?.queueId) throw new Error('no queue item is recorded for this run');
      return (await fromQueue(found.queueId)) ?? null;
    },

    /**
     * Follows the console (progressiveText); stages are read from it as they begin and end. A line's
     * `off` is its number in the console. The next request starts at the byte Jenkins' X-Text-Size
     * gave, never at one counted from the text: that text leaves out the console's hidden annotations
     * (a Pipeline console is full of them), which X-Text-Size counts. A retried follow reads the
     * console again from its start and skips the lines already stored.
     */
    async follow(build: PipelineBuild, record: PipelineRecord): Promise<PipelineEnd> {
      const number = Number(build.id);
      const src = `jenkins-build:${build.id}`;
      let stored = record.offset(src);
      let skip = stored;
      let start = 0;
      // A line Jenkins has begun and not ended: kept until the rest of it comes.
      let partial = '';
      let stage = [...record.states()].filter(([k, v]) => k.startsWith('stage:') && v === 'running').map(([k]) => k.slice(6)).pop();
      const pace = pacer(200, 3_000);
      for (;;) {
        const chunk = await call(`POST ${p.job}/${number}/logText/progressiveText`, () => jenkins.build.log({ name, number, start, meta: true }));
        const size = Number(chunk.size);
        if (Number.isFinite(size) && size >= start) start = size;
        const texts = (partial + (chunk.text ?? '')).split('\n');
        partial = texts.pop()!;
        // A line still being written is stored once it ends (or, at the end of the build, as it is).
        if (!chunk.more && partial !== '') {
          texts.push(partial);
          partial = '';
        }
        const lines: Array<{ text: string; off: number }> = [];
        for (const text of texts) {
          if (skip > 0) {
            skip--;
            continue;
          }
          lines.push({ text: text.replace(/\r$/, ''), off: ++stored });
        }
        // Lines are stored together up to a stage change. The change is stored before the line that
        // tells of it: a follow that dies between the two reads that line again and finds the change stored.
        let pending: typeof lines = [];
        const flush = async () => {
          await record.lines(src, pending);
          pending = [];
        };
        const change = async (name: string, state: string) => {
          await flush();
          await record.state(`stage:${name}`, state, `stage ${name}: ${state}`, { stage: name });
        };
        for (const l of lines) {
          const started = /^\[Pipeline\] \{ \((.+)\)$/.exec(l.text);
          const skipped = /^Stage "(.+)" skipped due to/.exec(l.text);
          if (started) await change((stage = started[1]!), 'running');
          else if (skipped) await change(skipped[1]!, 'skipped');
          else if (l.text === '[Pipeline] // stage' && stage) {
            await change(stage, 'completed');
            stage = undefined;
          }
          pending.push(l);
        }
        await flush();
        if (lines.length) pace.changed();
        if (!chunk.more) {
          const b = await call(`GET ${p.job}/${number}`, () => jenkins.build.get({ name, number }));
          if (!b.building && b.result) return endOf(b.result, record);
        }
        await pace.pause();
      }
    },

    /**
     * Aborts the build (Run.doStop), or takes its item off the queue while it waits there. Answers the
     * build to follow to its end: the item may have left the queue as a build before the cancel.
     */
    async cancel(build: PipelineBuild | null): Promise<PipelineBuild | null> {
      const found = build ? null : await findPipelineBuild(em, runId);
      let target = build ?? (found?.buildId ? { id: found.buildId, url: found.buildUrl! } : null);
      if (!target && found?.queueId) {
        const item = await call(`GET queue/item/${found.queueId}`, () => jenkins.queue.item({ number: found.queueId! }));
        if (item.executable) target = await claim(item.executable.number, item.executable.url);
        else if (!item.cancelled) {
          // Refused when the item left the queue meanwhile ("could not cancel"): what it became decides.
          await jenkins._post({ name: 'queue.cancelItem', path: '/queue/cancelItem', query: { id: found.queueId } }, redirectIsDone, done).catch(() => undefined);
          const again = await call(`GET queue/item/${found.queueId}`, () => jenkins.queue.item({ number: found.queueId! }));
          if (again.executable) target = await claim(again.executable.number, again.executable.url);
          else if (!again.cancelled) throw new Error(`queue item ${found.queueId} of ${p.job} is neither cancelled nor started yet`);
        }
      }
      if (target) await call(`POST ${p.job}/${target.id}/stop`, () => jenkins.build.stop({ name, number: Number(target.id) }));
      return target;
    },
  };
}

function endOf(result: string, record: PipelineRecord): PipelineEnd {
  const stages = [...record.states()].filter(([k]) => k.startsWith('stage:')).map(([k, v]) => ({ name: k.slice(6), state: v }));
  const firstSkipped = stages.findIndex((s) => s.state === 'skipped');
  const failed = result === 'FAILURE' ? (firstSkipped > 0 ? stages[firstSkipped - 1] : stages[stages.length - 1]) : undefined;
  const jobs: PipelineJob[] = stages.map((s) => ({ name: s.name, status: s.state === 'running' ? 'in_progress' : 'completed', conclusion: s === failed ? 'FAILURE' : s.state === 'skipped' ? 'skipped' : s.state === 'completed' ? 'SUCCESS' : null }));
  if (result === 'SUCCESS') return { outcome: 'succeeded', conclusion: result, jobs };
  if (result === 'ABORTED') return { outcome: 'cancelled', conclusion: result, jobs };
  // UNSTABLE (tests failed, the build itself ran) fails the run: a pipeline run gates what comes next.
  return { outcome: 'failed', conclusion: result, jobs, ...(failed ? { failedAt: `stage ${failed.name}` } : {}) };
}
