import { condition, setHandler } from '@temporalio/workflow';
import type { Approval } from '../../contracts/runs.ts';
import { approveUpdate, decisionSignal, rejectUpdate, type AutoApprove, type DecisionInput } from '../../contracts/temporal.ts';
import type { Reporter } from './reporter.ts';

export type GateOutcome = { decision: Approval } | { timedOut: true };

/**
 * The approval gate of every kind that asks a person before it changes anything. A decision arrives
 * as a signal from the API (which has already recorded it, so nobody waits for a worker) or as an
 * Update (validated here: refused unless the run is waiting). Either way the decision is on the run
 * row before the run proceeds, and before an Update answers.
 */
export function createApprovalGate(reporter: Reporter) {
  let decision: Approval | undefined;
  let waiting = false;
  let recorded = false;

  const accept = (kind: Approval['decision'], d: DecisionInput) => {
    decision = { decision: kind, by: d.userId, byEmail: d.email, comment: d.comment ?? '', at: new Date().toISOString() };
  };
  const validator = (d: DecisionInput) => {
    if (!waiting || decision) throw new Error(`run is ${reporter.state.status}, not awaiting approval`);
    if (!d?.userId || !d?.email) throw new Error('a decision needs the deciding user');
  };
  const viaUpdate = (kind: Approval['decision']) => async (d: DecisionInput) => {
    accept(kind, d);
    await condition(() => recorded);
    return { status: reporter.state.status };
  };
  setHandler(approveUpdate, viaUpdate('approved'), { validator });
  setHandler(rejectUpdate, viaUpdate('rejected'), { validator });
  // A decision for a round that is over (or a second one) changes nothing.
  setHandler(decisionSignal, (d) => {
    if (waiting && !decision) accept(d.decision, d);
  });

  /**
   * Waits for a decision on `summary` (what the person is shown); decide() reports the outcome and then
   * releases any Update still waiting to answer.
   */
  async function wait(opts: { summary: Record<string, unknown>; timeoutMs: number; step?: string }): Promise<GateOutcome> {
    decision = undefined;
    recorded = false;
    waiting = true;
    await reporter.report({ status: 'awaiting_approval', step: opts.step ?? 'approval', summary: opts.summary, approval: null });
    const decided = await condition(() => decision !== undefined, opts.timeoutMs);
    waiting = false;
    return decided ? { decision: decision! } : { timedOut: true };
  }

  /** The approval an auto-apply stands for: who allowed it, recorded like a person's decision. */
  const automatic = (auto: AutoApprove): Approval => ({
    decision: 'approved',
    by: auto.by,
    byEmail: auto.byEmail,
    comment: auto.reason === 'permission' ? 'auto-apply by an approver' : 'auto-apply allowed by the team setting',
    at: new Date().toISOString(),
  });

  /**
   * The whole gate as every kind uses it: waits, then reports the outcome — timed_out, discarded (the
   * summary kept unless `keepSummary` is false) or running `next` with the approval — and releases any
   * waiting Update. The caller ends the run on anything but `approved`.
   */
  async function decide(opts: { summary: Record<string, unknown>; timeoutMs: number; next: string; keepSummary?: boolean }): Promise<'approved' | 'timed_out' | 'discarded'> {
    const outcome = await wait(opts);
    if ('timedOut' in outcome) {
      await reporter.report({ status: 'timed_out', error: `no decision within ${Math.round(opts.timeoutMs / 1000)}s` });
      return 'timed_out';
    }
    const approval = outcome.decision;
    const rejected = approval.decision === 'rejected';
    await reporter.report(
      rejected
        ? { approval, status: 'discarded', step: null, ...(opts.keepSummary === false ? {} : { summary: opts.summary }) }
        : { approval, status: 'running', step: opts.next },
    );
    recorded = true;
    return rejected ? 'discarded' : 'approved';
  }

  return { decide, automatic, recorded: () => void (recorded = true) };
}
