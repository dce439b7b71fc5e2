import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { Reporter } from './reporter.ts';

/** The message and failure type an activity failure carries (its cause's, when it has one). */
export function failureOf(err: unknown, defaultType: string): { message: string; type: string } {
  const cause = (err as { cause?: unknown }).cause;
  const source = cause instanceof ApplicationFailure ? cause : err;
  const type = source instanceof ApplicationFailure && source.type ? source.type : defaultType;
  return { message: (source as Error).message || String(err), type };
}

/**
 * How a run whose body threw is recorded: a cancellation as cancelled (with the reason given, and
 * rethrown so the workflow ends cancelled), anything else as failed with its message, ending the
 * workflow with a failure nobody retries. `extra` (a partial summary) goes on the record either way.
 */
export async function recordThrown(err: unknown, report: Reporter['report'], defaultType: string, extra: { summary?: Record<string, unknown> } = {}): Promise<never> {
  if (isCancellation(err)) {
    const why = (err as { cause?: Error }).cause?.message;
    await CancellationScope.nonCancellable(() => report({ status: 'cancelled', ...extra, message: why ? `cancelled: ${why}` : 'cancelled' }));
    throw err;
  }
  const { message, type } = failureOf(err, defaultType);
  await report({ status: 'failed', error: message, ...extra });
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}
