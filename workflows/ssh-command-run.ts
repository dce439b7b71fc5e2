import { ActivityFailure, ApplicationFailure, CancellationScope, condition, allHandlersFinished, isCancellation, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SshCommandRunInput, SshCommandSummary, SshHost, SshHostResult } from '../contracts/kinds/ssh-command.ts';
import type { RunStatus } from '../contracts/runs.ts';
import { FAILURE_TYPES } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { createReporter, type RunBookkeepingActivities } from './blocks/reporter.ts';

type HostStepInput = { runId: string; teamId: string; host: SshHost; command: string; timeoutSeconds: number; step: string };

/** What this workflow expects of its activities; workers/runtime.ts checks createActivities against it. */
export type SshCommandRunActivities = RunBookkeepingActivities & {
  sshCommandHost(input: HostStepInput): Promise<SshHostResult>;
  sshCommandStop(input: HostStepInput): Promise<{ running: boolean }>;
};

export type SshCommandRunResult = { status: Extract<RunStatus, 'succeeded' | 'discarded' | 'timed_out'>; summary: SshCommandSummary };

function summarise(hosts: readonly SshHost[], results: Array<SshHostResult | undefined>): SshCommandSummary {
  const done = results.filter((r): r is SshHostResult => r !== undefined);
  return {
    hosts: done,
    succeeded: done.filter((r) => r.status === 'succeeded').length,
    failed: done.filter((r) => r.status === 'failed').length,
    pending: hosts.length - done.length,
  };
}

const messageOf = (err: unknown): string => {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return (cause as Error | undefined)?.message || String(err);
};

/**
 * (approval, when the params ask) → the command on every host, at most `parallel` at once → done.
 * A host that fails (exit code, unreachable, refused) fails the run; the other hosts still run and
 * their results are kept in the summary.
 */
export async function sshCommandRun(input: SshCommandRunInput): Promise<SshCommandRunResult> {
  const { runId, teamId, params } = input;
  const heartbeatTimeout = input.heartbeatTimeoutMs ?? 30_000;
  const ssh = proxyActivities<SshCommandRunActivities>({
    taskQueue: workflowInfo().taskQueue,
    // Past its own timeout an attempt stops the command itself; this only bounds one attempt (the next reattaches).
    startToCloseTimeout: (params.timeoutSeconds + 600) * 1000,
    heartbeatTimeout,
    // The remote command must be signalled and its last output stored before the run reports cancelled.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
  });
  const reporter = createReporter(runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);
  const results: Array<SshHostResult | undefined> = params.hosts.map(() => undefined);
  const names = params.hosts.map((h) => h.name);
  // Hosts whose command a cancel could not reach (see below): the run's last word names them.
  const unstopped: string[] = [];

  try {
    if (params.requireApproval) {
      const decided = await gate.decide({ summary: { hosts: names, command: params.command }, timeoutMs: input.approvalTimeoutMs, next: 'hosts', keepSummary: false });
      if (decided !== 'approved') return { status: decided, summary: summarise(params.hosts, results) };
    } else {
      await report({ status: 'running', step: 'hosts' });
    }

    let next = 0;
    let cancelled: unknown;
    const lane = async () => {
      while (next < params.hosts.length && cancelled === undefined) {
        const i = next++;
        const host = params.hosts[i]!;
        try {
          results[i] = await ssh.sshCommandHost({ runId, teamId, host, command: params.command, timeoutSeconds: params.timeoutSeconds, step: `host-${host.name}` });
        } catch (err) {
          if (isCancellation(err)) {
            cancelled ??= err;
            return;
          }
          results[i] = { host: host.name, status: 'failed', exitCode: null, error: messageOf(err) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(params.parallel, params.hosts.length) }, lane));
    const summary = summarise(params.hosts, results);
    if (cancelled !== undefined) {
      // A cancel that found no attempt running for a host (between retries) ends its step at once,
      // while the command there may still run: each started host is stopped before the run says cancelled.
      if (patched('ssh-stop-on-cancel')) {
        const started = params.hosts.slice(0, next).filter((_, i) => results[i] === undefined);
        await CancellationScope.nonCancellable(() =>
          Promise.all(started.map((host) => ssh.sshCommandStop({ runId, teamId, host, command: params.command, timeoutSeconds: params.timeoutSeconds, step: `host-${host.name}` }).catch(() => unstopped.push(host.name)))),
        );
      }
      throw cancelled;
    }
    if (summary.failed > 0) {
      const which = summary.hosts.filter((r) => r.status === 'failed').map((r) => `${r.host} (${r.error ?? `exit code ${r.exitCode}`})`);
      const error = `${summary.failed} of ${params.hosts.length} host${params.hosts.length > 1 ? 's' : ''} failed: ${which.join('; ')}`;
      await report({ status: 'failed', step: null, summary, error });
      throw ApplicationFailure.create({ message: error, type: FAILURE_TYPES.needsAttention, nonRetryable: true });
    }
    await report({ status: 'succeeded', step: null, summary });
    return { status: 'succeeded', summary };
  } catch (err) {
    if (isCancellation(err)) {
      const why = (err as { cause?: Error }).cause?.message;
      const summary = summarise(params.hosts, results);
      const left = unstopped.length ? `; the command could not be stopped on ${unstopped.join(', ')} (not reachable) and may still be running there` : '';
      await CancellationScope.nonCancellable(() => report({ status: 'cancelled', summary, message: `${why ? `cancelled: ${why}` : 'cancelled'}${left}` }));
      throw err;
    }
    if (err instanceof ApplicationFailure && err.nonRetryable) throw err;
    const message = messageOf(err);
    await report({ status: 'failed', error: message, summary: summarise(params.hosts, results) });
    throw ApplicationFailure.create({ message, type: FAILURE_TYPES.needsAttention, nonRetryable: true });
  } finally {
    gate.recorded();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}
