import { RequesterName } from '../components/RequesterName.tsx';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunEvent } from '../../../contracts/events.ts';
import { isTerminal, type RunStatus, type RunView } from '../../../contracts/runs.ts';
import { fetchEvents } from '../client/events.ts';
import { ApiError, get } from '../client/http.ts';
import { useMe } from '../client/me.ts';
import { live } from '../client/socket.ts';
import { RunBadge } from '../components/StatusBadge.tsx';
import { DeployPanel } from '../components/DeployPanel.tsx';
import { RunTimes, summaryOf } from '../components/RunFacts.tsx';
import type { RolloutProgress } from '../../../contracts/kinds/deploy.ts';
import { formatTime } from '../format.ts';
import { stripAnsi } from '../log/ansi.ts';
import type { LogView } from '../log/log-view.ts';
import { LogViewer } from '../log/LogViewer.tsx';
import { Link } from '../router.tsx';
import { ansibleDataOf, HostRecapTable, TaskSections } from './AnsibleRecap.tsx';
import { RunActions } from './RunActions.tsx';
import { RunError } from './RunError.tsx';
import { logLineOf, RunHostResults } from './RunHostResults.tsx';
import { RunInputs } from './RunInputs.tsx';
import { RunTimeline, type TimelineEntry } from './RunTimeline.tsx';
import type { CheckResult } from '../../../contracts/kinds/health-scan.ts';
import { RunChecks } from './RunChecks.tsx';
import { RunPipeline } from './RunPipeline.tsx';
import type { PipelineSummary } from '../../../contracts/kinds/pipeline.ts';

async function download(runId: string): Promise<void> {
  const events = await fetchEvents(runId, 0);
  const text = events.filter((e) => e.type === 'log').map((e) => stripAnsi(e.message)).join('\n');
  const url = URL.createObjectURL(new Blob([text + '\n'], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `run-${runId}.log`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function RunPage({ id }: { id: string }) {
  const me = useMe();
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  // An Ansible play's tasks and per-host results (shown as sections, not in the timeline).
  const [plays, setPlays] = useState<RunEvent[]>([]);
  const [progress, setProgress] = useState<RolloutProgress | null>(null);
  const [, setTick] = useState(0);
  const view = useRef<LogView | null>(null);
  // Log lines that arrive before the viewer mounted.
  const early = useRef<RunEvent[]>([]);
  const refetch = useRef<ReturnType<typeof setTimeout>>(undefined);

  const reload = () => {
    clearTimeout(refetch.current);
    // Status events come in bursts (status + step); one refetch of the row covers them.
    refetch.current = setTimeout(() => void get<RunView>(`/api/v1/runs/${id}`).then((next) => setRun((r) => (r && next.lastSeq < r.lastSeq ? r : next)), () => undefined), 100);
  };

  useEffect(() => {
    setRun(null);
    setTimeline([]);
    setPlays([]);
    setProgress(null);
    view.current?.clear();
    get<RunView>(`/api/v1/runs/${id}`).then(setRun, (err: unknown) => setError(err instanceof ApiError && err.status === 404 ? 'This run does not exist or belongs to a team you cannot see.' : (err as Error).message));
    // The socket replays everything after seq 0, then tails live; it resumes from the last seq on reconnect.
    const stop = live.watchRun(
      id,
      0,
      (events) => {
        const logs = events.filter((e) => e.type === 'log');
        if (view.current) view.current.append(logs.map(logLineOf));
        else early.current.push(...logs);
        const played = events.filter((e) => ansibleDataOf(e));
        if (played.length) setPlays((p) => [...p, ...played]);
        const rollout = [...events].reverse().find((e) => e.type === 'metric' && e.data?.progress)?.data?.progress as RolloutProgress | undefined;
        if (rollout) setProgress(rollout);
        const marks = events.filter((e) => e.type !== 'log' && e.type !== 'metric' && !(e.type === 'step' && ansibleDataOf(e)));
        if (marks.length) {
          setTimeline((t) => [...t, ...marks]);
          const latest = [...marks].reverse().find((e) => e.type === 'status');
          const status = latest?.data?.status as RunStatus | undefined;
          // The seq goes with it: an answer to an action that left before this event must not bring back the old status.
          if (latest && status) setRun((r) => (r ? { ...r, status, lastSeq: Math.max(r.lastSeq, latest.seq) } : r));
          reload();
        }
      },
      (after, before) => fetchEvents(id, after, before),
    );
    return () => {
      stop();
      clearTimeout(refetch.current);
    };
  }, [id]);

  const running = run !== null && !isTerminal(run.status);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [running]);

  const onReady = (v: LogView | null) => {
    view.current = v;
    if (v && early.current.length) {
      v.append(early.current.map(logLineOf));
      early.current = [];
    }
  };

  if (error) {
    return (
      <section>
        <h1>Run not found</h1>
        <p role="alert">{error}</p>
        <Link href="/">Back to runs</Link>
      </section>
    );
  }
  const summary = run ? summaryOf(run) : null;

  return (
    <section aria-labelledby="run-title" class="run-page">
      <header class="run-head">
        <div>
          <p class="crumbs">
            <Link href="/">Runs</Link> / {run?.kind ?? '…'}
          </p>
          <h1 id="run-title" tabIndex={-1}>
            {run?.target ?? id.slice(0, 8)} {run && <RunBadge run={run} />}
          </h1>
          {run && (
            <dl class="facts">
              <dt>Team</dt>
              <dd>{run.team}</dd>
              <dt>Started by</dt>
              <dd>
                <RequesterName requester={run.requester} />
              </dd>
              <dt>Created</dt>
              <dd>{formatTime(run.createdAt)}</dd>
              <dt>Time</dt>
              <dd data-testid="run-duration">
                <RunTimes run={run} />
              </dd>
              {run.step && !isTerminal(run.status) && (
                <>
                  <dt>Step</dt>
                  <dd>{run.step}</dd>
                </>
              )}
            </dl>
          )}
          {run?.error && <RunError error={run.error} log={() => view.current} />}
          {run?.approval && (
            <p class={run.status === 'discarded' ? 'notice' : 'muted'} data-testid="decision">
              {run.status === 'discarded' ? 'Discarded: the plan was rejected' : run.approval.decision === 'approved' ? 'Approved' : 'Rejected'} by{' '}
              {run.approval.byEmail} at {formatTime(run.approval.at)}
              {run.approval.comment ? `: “${run.approval.comment}”` : ''}
            </p>
          )}
        </div>
        {summary && (
          <div class="plan-summary" aria-label="Plan summary" data-testid="plan-summary">
            <span class="add">
              <strong>{summary.add}</strong> to add
            </span>
            <span class="change">
              <strong>{summary.change}</strong> to change
            </span>
            <span class="destroy">
              <strong>{summary.destroy}</strong> to destroy
            </span>
          </div>
        )}
        {run && <HostRecapTable run={run} />}
        {typeof run?.summary?.commit === 'string' && (
          <p class="muted" data-testid="source-commit">
            From commit <code title={run.summary.commit}>{run.summary.commit.slice(0, 12)}</code>
          </p>
        )}
      </header>
      {Array.isArray(run?.summary?.checks) && <RunChecks checks={run.summary.checks as CheckResult[]} />}
      {run?.kind === 'pipeline' && run.summary && <RunPipeline summary={run.summary as PipelineSummary} />}
      {run && <RunHostResults run={run} />}
      {run && (
        <RunActions
          run={run}
          me={me}
          // An answer older than what the page has seen (the run moved on while the request was under
          // way: an approved run already running, or ended) only adds what the action itself recorded.
          onChanged={(next) =>
            setRun((r) => (r && (next.lastSeq < r.lastSeq || (isTerminal(r.status) && !isTerminal(next.status))) ? { ...r, approval: r.approval ?? next.approval, cancelRequest: next.cancelRequest ?? r.cancelRequest } : next))
          }
          // The decision's buttons go away with it: focus moves to the run's title (and its new status), not to the page.
          onDecided={() => requestAnimationFrame(() => document.getElementById('run-title')?.focus())}
        />
      )}
      {run?.kind === 'deploy' && <DeployPanel run={run} progress={progress} me={me} />}
      <div class="run-body">
        <LogViewer onReady={onReady} onDownload={() => download(id)} />
        {run && <RunTimeline entries={timeline} run={run} />}
      </div>
      <TaskSections events={plays} />
      {run && <RunInputs run={run} />}
    </section>
  );
}
