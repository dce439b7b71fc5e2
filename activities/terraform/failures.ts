import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

// Terraform prints these when the trouble is around it (state storage, locks), not in the configuration:
// the same command can succeed later, so they stay retryable.
const TRANSIENT = [
  /Error acquiring the state lock/i,
  /Error releasing the state lock/i,
  /connection refused/i,
  /dial tcp/i,
  /i\/o timeout/i,
  /too many clients/i,
  /the database system is (starting up|shutting down)/i,
  /terminating connection/i,
  /no such host/i,
  /Failed to (save|persist|write) state/i,
];

const STALE = /Saved plan is stale/i;

export const isTransient = (text: string) => TRANSIENT.some((re) => re.test(text));
export const isStale = (text: string) => STALE.test(text);

export const stalePlan = (message = 'the saved plan is stale: the state changed after it was made') =>
  ApplicationFailure.create({ message, type: FAILURE_TYPES.stalePlan, nonRetryable: true });

/**
 * Turns a failed terraform command into the error the workflow acts on: StalePlan (plan again),
 * TerraformFailed (the configuration is wrong; retrying cannot help) or a plain Error (retry).
 */
export function commandFailure(command: string, result: { code: number | null; stderrTail: string[] }): Error {
  const text = result.stderrTail.filter((l) => l.trim() !== '').join('\n');
  const message = `terraform ${command} failed: ${text.slice(-2000) || `exit ${result.code ?? 'unknown'}`}`;
  if (STALE.test(text)) return stalePlan();
  // Killed by a signal we did not send (OOM killer, an operator): the environment, not the configuration.
  if (result.code === null || result.code > 128 || isTransient(text)) return new Error(message);
  return ApplicationFailure.create({ message, type: FAILURE_TYPES.terraform, nonRetryable: true });
}
