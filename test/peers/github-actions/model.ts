import { randomBytes } from 'node:crypto';

export type SimStep = { name: string; lines: string[]; conclusion?: 'success' | 'failure'; ms?: number };
export type SimJob = { name: string; steps: SimStep[] };
export type SimWorkflow = { inputs?: Record<string, { required?: boolean; default?: string }>; jobs: SimJob[] };
export type SimRun = {
  id: number; repo: string; workflow: string; ref: string; inputs: Record<string, string>;
  status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null; cancelRequested: boolean; actor: string; createdAt: string;
};

export type Status = 'queued' | 'in_progress' | 'completed';
/** A step as the jobs API shows it; `def` is absent for the runner's own "Set up job" / "Complete job". */
export type StepState = { name: string; number: number; def?: SimStep; status: Status; conclusion: string | null; startedMs?: number; completedMs?: number };
export type JobState = {
  id: number; name: string; status: Status; conclusion: string | null; createdMs: number; startedMs?: number; completedMs?: number;
  steps: StepState[]; log: string[]; ran: boolean; current: number;
};
export type Repo = { id: number; fullName: string; branches: Map<string, string> };
export type Workflow = { id: number; repo: Repo; file: string; def: SimWorkflow; createdMs: number; runs: number };
export type RunState = {
  pub: SimRun; repo: Repo; workflow: Workflow; runNumber: number; headSha: string; branch: string;
  createdMs: number; updatedMs: number; jobs: JobState[]; current: number; timer?: NodeJS.Timeout;
};

/** GitHub's timestamps in the REST API: ISO 8601 to the second. */
export const apiTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** GitHub's timestamps in job logs: ISO 8601 with seven fractional digits. */
export const logTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '0000Z');
export const sha = () => randomBytes(20).toString('hex');

/**
 * Moves runs along, one timer per run: `queued` for one stepMs, then each job in turn, each of its
 * steps `ms ?? stepMs`. A failing step fails its job and the run; the rest of its steps and the later
 * jobs are skipped. A cancel ends the run `cancelled` one stepMs later.
 */
export function createEngine(stepMs: number) {
  const live = new Set<RunState>();
  const touch = (run: RunState) => (run.updatedMs = Date.now());
  const schedule = (run: RunState, ms: number, fn: () => void) => {
    clearTimeout(run.timer);
    live.add(run);
    run.timer = setTimeout(() => {
      run.timer = undefined;
      fn();
    }, ms);
  };
  const finishRun = (run: RunState, conclusion: string) => {
    clearTimeout(run.timer);
    run.timer = undefined;
    live.delete(run);
    run.pub.status = 'completed';
    run.pub.conclusion = conclusion;
    touch(run);
  };
  const line = (job: JobState, ms: number, text: string) => job.log.push(`${logTime(ms)} ${text}`);

  const startJob = (run: RunState) => {
    const job = run.jobs[run.current];
    if (!job) return finishRun(run, 'success');
    const now = Date.now();
    Object.assign(job, { status: 'in_progress', startedMs: now, ran: true, current: 0 });
    job.steps.forEach((s) => Object.assign(s, { status: 'queued', conclusion: null }));
    const setup = job.steps[0]!;
    Object.assign(setup, { status: 'completed', conclusion: 'success', startedMs: now, completedMs: now });
    line(job, now, "Current runner version: '2.321.0'");
    line(job, now, '##[group]Operating System');
    line(job, now, 'Ubuntu');
    line(job, now, '24.04');
    line(job, now, '##[endgroup]');
    line(job, now, `Runner name: 'GitHub Actions ${job.id % 1000}'`);
    touch(run);
    startStep(run, job);
  };
  const startStep = (run: RunState, job: JobState) => {
    job.current++;
    const step = job.steps[job.current]!;
    if (!step.def) return endJob(run, job, 'success');
    const now = Date.now();
    Object.assign(step, { status: 'in_progress', startedMs: now });
    line(job, now, `##[group]Run ${step.name}`);
    line(job, now, 'shell: /usr/bin/bash -e {0}');
    line(job, now, '##[endgroup]');
    touch(run);
    schedule(run, step.def.ms ?? stepMs, () => {
      const end = Date.now();
      for (const l of step.def!.lines) line(job, end, l);
      const failed = step.def!.conclusion === 'failure';
      if (failed) line(job, end, '##[error]Process completed with exit code 1.');
      Object.assign(step, { status: 'completed', conclusion: failed ? 'failure' : 'success', completedMs: end });
      touch(run);
      if (failed) endJob(run, job, 'failure');
      else startStep(run, job);
    });
  };
  /** The job's remaining steps are skipped, "Complete job" runs, and the run goes on (or ends). */
  const endJob = (run: RunState, job: JobState, conclusion: string) => {
    const now = Date.now();
    for (const s of job.steps) if (s.status !== 'completed') Object.assign(s, s.def ? { status: 'completed', conclusion: 'skipped' } : { status: 'completed', conclusion: 'success', startedMs: now, completedMs: now });
    line(job, now, 'Cleaning up orphan processes');
    Object.assign(job, { status: 'completed', conclusion, completedMs: now });
    touch(run);
    if (conclusion === 'success') {
      run.current++;
      return startJob(run);
    }
    abandon(run, conclusion);
  };
  /** Jobs that never started end with the run: skipped after a failure, cancelled after a cancel. */
  const abandon = (run: RunState, conclusion: string) => {
    const now = Date.now();
    for (const j of run.jobs) if (j.status !== 'completed') Object.assign(j, { status: 'completed', conclusion: conclusion === 'cancelled' ? 'cancelled' : 'skipped', steps: [], startedMs: now, completedMs: now });
    finishRun(run, conclusion);
  };

  return {
    begin(run: RunState) {
      schedule(run, stepMs, () => {
        run.pub.status = 'in_progress';
        startJob(run);
      });
    },
    cancel(run: RunState) {
      run.pub.cancelRequested = true;
      touch(run);
      schedule(run, stepMs, () => {
        const job = run.jobs.find((j) => j.status === 'in_progress');
        if (!job) return abandon(run, 'cancelled');
        const now = Date.now();
        const step = job.steps.find((s) => s.status === 'in_progress');
        if (step) {
          line(job, now, '##[error]The operation was canceled.');
          Object.assign(step, { status: 'completed', conclusion: 'cancelled', completedMs: now });
        }
        endJob(run, job, 'cancelled');
      });
    },
    stop() {
      for (const run of live) clearTimeout(run.timer);
      live.clear();
    },
  };
}
