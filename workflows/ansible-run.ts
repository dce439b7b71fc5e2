import { allHandlersFinished, CancellationScope, condition, proxyActivities } from '@temporalio/workflow';
import type { AnsibleParams, AnsiblePlayResult, AnsibleSummary } from '../contracts/kinds/ansible.ts';
import type { RunStatus } from '../contracts/runs.ts';
import { FAILURE_TYPES, type RunInput } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { onProcessHostStoppable, processStepOptions } from './blocks/follow-host.ts';
import { createReporter, type RunBookkeepingActivities } from './blocks/reporter.ts';
import { recordThrown } from './blocks/run-end.ts';
import { releaseRunFiles } from './blocks/run-files.ts';

type StepInput = { runId: string; teamId: string; params: AnsibleParams; step: string };
type PlayInput = StepInput & { hostGone?: string };

/** The activities this workflow calls, as it sees them (workers/runtime.ts checks the worker's match). */
export type AnsibleRunActivities = RunBookkeepingActivities & {
  ansibleCheck(input: StepInput): Promise<AnsiblePlayResult>;
  ansiblePlay(input: PlayInput): Promise<AnsiblePlayResult>;
  ansibleStopPlay(input: PlayInput): Promise<{ running: boolean }>;
};

export type AnsibleRunInput = RunInput<AnsibleParams>;
export type AnsibleRunResult = { status: Extract<RunStatus, 'succeeded' | 'failed' | 'discarded' | 'timed_out'>; summary: AnsibleSummary };


const withCommit = (summary: AnsibleSummary, played: AnsiblePlayResult): AnsibleSummary => (played.commit ? { ...summary, commit: played.commit } : summary);

/**
 * check (ansible-playbook --check --diff, unless params.check is false) → approval, unless the API
 * verified an auto-apply → the real run → per-host recap. A host that fails (or cannot be reached)
 * fails the run, naming the host and task, with every host's results kept in the summary; a check
 * run with a failing host ends the run before anyone is asked to approve.
 */
export async function ansibleRun(input: AnsibleRunInput): Promise<AnsibleRunResult> {
  const { runId, teamId, params } = input;
  const options = processStepOptions(input.heartbeatTimeoutMs, '4 hours');
  const ansible = proxyActivities<AnsibleRunActivities>(options);
  const reporter = createReporter(runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);
  let summary: AnsibleSummary = {};

  const ended = async (played: AnsiblePlayResult, phase: 'check' | 'recap'): Promise<AnsibleRunResult | null> => {
    summary = withCommit({ ...summary, [phase]: played.recap }, played);
    if (played.problems.length === 0) return null;
    const error = `${phase === 'check' ? 'the check run failed' : 'the play failed'} on ${played.problems.length} host${played.problems.length > 1 ? 's' : ''}: ${played.problems.join('; ')}`;
    await report({ status: 'failed', step: null, summary, error });
    return { status: 'failed', summary };
  };

  try {
    if (params.check) {
      await report({ status: 'running', step: 'check' });
      const checked = await ansible.ansibleCheck({ runId, teamId, params, step: 'check' });
      const failed = await ended(checked, 'check');
      if (failed) return failed;
    } else {
      await report({ status: 'running', step: 'approval' });
    }
    if (input.autoApprove) {
      await report({ step: 'run', summary, approval: gate.automatic(input.autoApprove) });
    } else {
      const decided = await gate.decide({ summary, timeoutMs: input.approvalTimeoutMs, next: 'run' });
      if (decided !== 'approved') return { status: decided, summary };
    }
    const played = await onProcessHostStoppable<AnsibleRunActivities, PlayInput, AnsiblePlayResult>(
      options,
      (a, i) => a.ansiblePlay(i),
      (a, i) => a.ansibleStopPlay(i),
      { runId, teamId, params, step: 'run' },
      'ansible-stop-on-cancel',
    );
    const failed = await ended(played, 'recap');
    if (failed) return failed;
    await report({ status: 'succeeded', step: null, summary });
    return { status: 'succeeded', summary };
  } catch (err) {
    return await recordThrown(err, report, FAILURE_TYPES.ansible);
  } finally {
    gate.recorded();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    await releaseRunFiles(runId);
  }
}
