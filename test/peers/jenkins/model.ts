export type SimStage = { name: string; lines: string[]; result?: 'SUCCESS' | 'FAILURE' | 'UNSTABLE'; ms?: number };
export type SimJobDef = { parameters?: Record<string, { default?: string }>; stages: SimStage[]; queueMs?: number };
export type SimBuild = { job: string; number: number; queueId: number; parameters: Record<string, string>; result: string | null; building: boolean; aborted: boolean };

export type Job = { path: string; def: SimJobDef; builds: Run[]; nextNumber: number };
export type QueueItem = { id: number; job: Job; parameters: Record<string, string>; since: number; cancelled: boolean; run?: Run; timer?: NodeJS.Timeout };
export type Run = {
  job: Job;
  number: number;
  queueId: number;
  parameters: Record<string, string>;
  result: 'SUCCESS' | 'FAILURE' | 'UNSTABLE' | 'ABORTED' | null;
  building: boolean;
  aborted: boolean;
  timestamp: number;
  duration: number;
  log: Buffer;
  inStage: boolean;
  timer?: NodeJS.Timeout;
};

const WORKFLOW_JOB = 'org.jenkinsci.plugins.workflow.job.WorkflowJob';
const WORKFLOW_RUN = 'org.jenkinsci.plugins.workflow.job.WorkflowRun';
const FOLDER = 'com.cloudbees.hudson.plugins.folder.Folder';

/** The simulated controller: jobs (by full name, `folder/deploy`), the queue, and the Pipeline runs it executes. */
export class Controller {
  readonly jobs = new Map<string, Job>();
  readonly items: QueueItem[] = [];
  private nextQueueId = 101; // Jenkins' queue ids are global and unrelated to build numbers: starting apart catches mix-ups
  private readonly timers = new Set<NodeJS.Timeout>();

  readonly root: string;
  readonly user: string;
  readonly stageMs: number;
  constructor(root: string, user: string, stageMs: number) {
    this.root = root;
    this.user = user;
    this.stageMs = stageMs;
  }

  later(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }
  cancelTimer(t: NodeJS.Timeout | undefined) {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }
  clearTimers() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  jobUrl(path: string) {
    return `${this.root}/${path.split('/').map((s) => `job/${encodeURIComponent(s)}/`).join('')}`;
  }
  runUrl(r: Run) {
    return `${this.jobUrl(r.job.path)}${r.number}/`;
  }
  isFolder(path: string) {
    return [...this.jobs.keys()].some((k) => k.startsWith(`${path}/`));
  }

  /**
   * Schedules a build as Jenkins' queue does: undeclared parameters are dropped (SECURITY-170), declared
   * ones not given take their default. A waiting item of the same job with the same parameters absorbs
   * the trigger (ParametersAction.shouldSchedule), so its id is answered and no new item is made.
   */
  schedule(job: Job, given: Record<string, string>): QueueItem {
    const parameters: Record<string, string> = {};
    for (const [name, p] of Object.entries(job.def.parameters ?? {})) parameters[name] = given[name] ?? p.default ?? '';
    const same = this.items.find((i) => i.job === job && !i.cancelled && !i.run && JSON.stringify(i.parameters) === JSON.stringify(parameters));
    if (same) return same;
    const item: QueueItem = { id: this.nextQueueId++, job, parameters, since: Date.now(), cancelled: false };
    this.items.push(item);
    item.timer = this.later(job.def.queueMs ?? this.stageMs, () => this.start(item));
    return item;
  }

  cancel(item: QueueItem) {
    if (item.run || item.cancelled) return false;
    this.cancelTimer(item.timer);
    item.cancelled = true;
    return true;
  }

  /**
   * The console as Jenkins stores it: a Pipeline's step lines carry a hidden console note (ESC[8mha:…
   * ESC[0m, a serialised annotation) that the plain-text views leave out but X-Text-Size counts.
   */
  private append(r: Run, text: string) {
    const noted = text.replace(/^\[Pipeline\]/gm, (m) => `\x1b[8mha:////4${Buffer.from(`note-${r.number}-${r.log.length}`).toString('base64')}AAAA=\x1b[0m${m}`);
    r.log = Buffer.concat([r.log, Buffer.from(noted, 'utf8')]);
  }

  private start(item: QueueItem) {
    const job = item.job;
    const r: Run = { job, number: job.nextNumber++, queueId: item.id, parameters: item.parameters, result: null, building: true, aborted: false, timestamp: Date.now(), duration: 0, log: Buffer.alloc(0), inStage: false };
    job.builds.push(r);
    item.run = r;
    this.append(r, `Started by user ${this.user}\n[Pipeline] Start of Pipeline\n`);
    this.stage(r, 0, { failed: undefined, unstable: false });
  }

  private stage(r: Run, i: number, state: { failed: string | undefined; unstable: boolean }): void {
    if (!r.building || r.aborted) return;
    const stages = r.job.def.stages;
    if (i >= stages.length) {
      const result = state.failed ? 'FAILURE' : state.unstable ? 'UNSTABLE' : 'SUCCESS';
      return this.finish(r, result, `[Pipeline] End of Pipeline\n${state.failed ? `ERROR: ${state.failed}\n` : ''}`);
    }
    const s = stages[i]!;
    this.append(r, `[Pipeline] stage\n[Pipeline] { (${s.name})\n`);
    if (state.failed) {
      this.append(r, `Stage "${s.name}" skipped due to earlier failure(s)\n[Pipeline] }\n[Pipeline] // stage\n`);
      return this.stage(r, i + 1, state);
    }
    this.append(r, s.lines.map((l) => `${l}\n`).join(''));
    r.inStage = true;
    r.timer = this.later(s.ms ?? this.stageMs, () => {
      r.inStage = false;
      if (s.result === 'FAILURE') state.failed = 'script returned exit code 1';
      if (s.result === 'UNSTABLE') state.unstable = true;
      this.append(r, '[Pipeline] }\n[Pipeline] // stage\n');
      this.stage(r, i + 1, state);
    });
  }

  private finish(r: Run, result: NonNullable<Run['result']>, tail: string) {
    this.append(r, `${tail}Finished: ${result}\n`);
    r.result = result;
    r.building = false;
    r.duration = Date.now() - r.timestamp;
  }

  /** Executor.doStop: the interruption is recorded at once, the Pipeline winds down a moment later. */
  abort(r: Run) {
    if (!r.building || r.aborted) return;
    r.aborted = true;
    this.cancelTimer(r.timer);
    this.append(r, `Aborted by ${this.user}\n`);
    this.later(Math.min(20, this.stageMs), () => this.finish(r, 'ABORTED', `${r.inStage ? '[Pipeline] }\n[Pipeline] // stage\n' : ''}[Pipeline] End of Pipeline\n`));
  }

  // ---- the JSON Jenkins' remote access API shows ----

  private paramsAction(parameters: Record<string, string>) {
    return { _class: 'hudson.model.ParametersAction', parameters: Object.entries(parameters).map(([name, value]) => ({ _class: 'hudson.model.StringParameterValue', name, value })) };
  }
  private causeAction() {
    return { _class: 'hudson.model.CauseAction', causes: [{ _class: 'hudson.model.Cause$UserIdCause', shortDescription: `Started by user ${this.user}`, userId: this.user, userName: this.user }] };
  }
  private task(job: Job) {
    return { _class: WORKFLOW_JOB, name: job.path.split('/').pop(), url: this.jobUrl(job.path), color: this.color(job) };
  }
  private color(job: Job) {
    const last = job.builds.findLast((b) => !b.building);
    const base = !last ? 'notbuilt' : last.result === 'SUCCESS' ? 'blue' : last.result === 'UNSTABLE' ? 'yellow' : last.result === 'ABORTED' ? 'aborted' : 'red';
    return job.builds.some((b) => b.building) ? `${base}_anime` : base;
  }

  /** `deep` (a `tree=` query): referenced builds carry all their properties, as Jenkins exports the Run itself; else just `_class`, number and url. */
  itemJson(item: QueueItem, deep = false) {
    const common = {
      actions: [...(Object.keys(item.parameters).length ? [this.paramsAction(item.parameters)] : []), this.causeAction()],
      blocked: false,
      buildable: false,
      id: item.id,
      inQueueSince: item.since,
      params: Object.entries(item.parameters).map(([k, v]) => `\n${k}='${v}'`).join(''),
      stuck: false,
      task: this.task(item.job),
      url: `queue/item/${item.id}/`,
    };
    if (!item.run && !item.cancelled) {
      const left = Math.max(0, item.since + (item.job.def.queueMs ?? this.stageMs) - Date.now());
      return { _class: 'hudson.model.Queue$WaitingItem', ...common, why: `In the quiet period. Expires in ${(left / 1000).toFixed(1)} sec`, timestamp: item.since + (item.job.def.queueMs ?? this.stageMs) };
    }
    return {
      _class: 'hudson.model.Queue$LeftItem',
      ...common,
      why: null,
      cancelled: item.cancelled,
      executable: item.run ? (deep ? this.runJson(item.run) : { _class: WORKFLOW_RUN, number: item.run.number, url: this.runUrl(item.run) }) : null,
    };
  }

  runJson(r: Run) {
    const name = r.job.path.split('/').pop()!;
    const prev = r.job.builds.filter((b) => b.number < r.number).at(-1);
    const next = r.job.builds.find((b) => b.number > r.number);
    const ref = (b: Run | undefined) => (b ? { number: b.number, url: this.runUrl(b) } : null);
    return {
      _class: WORKFLOW_RUN,
      actions: [...(Object.keys(r.parameters).length ? [this.paramsAction(r.parameters)] : []), this.causeAction()],
      artifacts: [],
      building: r.building,
      description: null,
      displayName: `#${r.number}`,
      duration: r.building ? 0 : r.duration,
      estimatedDuration: r.job.def.stages.reduce((t, s) => t + (s.ms ?? this.stageMs), 0),
      executor: r.building ? { _class: 'hudson.model.OneOffExecutor' } : null,
      fullDisplayName: `${r.job.path.split('/').join(' » ')} #${r.number}`,
      id: String(r.number),
      keepLog: false,
      number: r.number,
      queueId: r.queueId,
      result: r.result,
      timestamp: r.timestamp,
      url: this.runUrl(r),
      changeSets: [],
      culprits: [],
      inProgress: r.building,
      nextBuild: ref(next),
      previousBuild: ref(prev),
      fullName: r.job.path,
      name,
    };
  }

  jobJson(job: Job, deep = false) {
    const name = job.path.split('/').pop()!;
    const ref = (b: Run | undefined) => (b ? (deep ? this.runJson(b) : { _class: WORKFLOW_RUN, number: b.number, url: this.runUrl(b) }) : null);
    const newest = [...job.builds].reverse();
    const done = newest.filter((b) => !b.building);
    const waiting = this.items.find((i) => i.job === job && !i.run && !i.cancelled);
    const params = Object.entries(job.def.parameters ?? {});
    return {
      _class: WORKFLOW_JOB,
      actions: [],
      description: '',
      displayName: name,
      fullDisplayName: job.path.split('/').join(' » '),
      fullName: job.path,
      name,
      url: this.jobUrl(job.path),
      buildable: true,
      builds: newest.map(ref),
      color: this.color(job),
      firstBuild: ref(job.builds[0]),
      healthReport: [],
      inQueue: Boolean(waiting),
      keepDependencies: false,
      lastBuild: ref(newest[0]),
      lastCompletedBuild: ref(done[0]),
      lastFailedBuild: ref(done.find((b) => b.result === 'FAILURE')),
      lastStableBuild: ref(done.find((b) => b.result === 'SUCCESS')),
      lastSuccessfulBuild: ref(done.find((b) => b.result === 'SUCCESS' || b.result === 'UNSTABLE')),
      lastUnstableBuild: ref(done.find((b) => b.result === 'UNSTABLE')),
      lastUnsuccessfulBuild: ref(done.find((b) => b.result !== 'SUCCESS')),
      nextBuildNumber: job.nextNumber,
      property: params.length
        ? [
            {
              _class: 'hudson.model.ParametersDefinitionProperty',
              parameterDefinitions: params.map(([pname, p]) => ({
                _class: 'hudson.model.StringParameterDefinition',
                defaultParameterValue: { _class: 'hudson.model.StringParameterValue', name: pname, value: p.default ?? '' },
                description: null,
                name: pname,
                type: 'StringParameterDefinition',
              })),
            },
          ]
        : [],
      queueItem: waiting ? this.itemJson(waiting, deep) : null,
      concurrentBuild: true,
      resumeBlocked: false,
    };
  }

  /** The root (`path` '') or a folder: its direct children. */
  containerJson(path: string) {
    const prefix = path ? `${path}/` : '';
    const children = new Set<string>();
    for (const k of this.jobs.keys()) if (k.startsWith(prefix)) children.add(k.slice(prefix.length).split('/')[0]!);
    const jobs = [...children].sort().map((c) => {
      const full = prefix + c;
      const job = this.jobs.get(full);
      return job ? { _class: WORKFLOW_JOB, name: c, url: this.jobUrl(full), color: this.color(job) } : { _class: FOLDER, name: c, url: this.jobUrl(full) };
    });
    if (!path) return { _class: 'hudson.model.Hudson', mode: 'NORMAL', nodeDescription: 'the Jenkins controller', nodeName: '', numExecutors: 0, useCrumbs: true, useSecurity: true, url: `${this.root}/`, jobs };
    const name = path.split('/').pop()!;
    return { _class: FOLDER, actions: [], description: null, displayName: name, fullDisplayName: path.split('/').join(' » '), fullName: path, name, url: this.jobUrl(path), healthReport: [], jobs };
  }
}

export const publicBuild = (r: Run): SimBuild => ({ job: r.job.path, number: r.number, queueId: r.queueId, parameters: { ...r.parameters }, result: r.result, building: r.building, aborted: r.aborted });
