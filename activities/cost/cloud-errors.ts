import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

/** A business failure the run stops on, with the sentence a person reads. */
export const refused = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.needsAttention, nonRetryable: true });

/** The cloud refused the integration's credentials (or what they may do): no retry fixes it. */
export class CloudAuthError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CloudAuthError';
    this.code = code;
  }
}

/** An HTTP answer outside 2xx from a cloud's REST API, with the error code its body named. */
export class CloudHttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'CloudHttpError';
    this.status = status;
    this.code = code;
  }
}

/** Turns a credential refusal into a non-retryable failure naming the integration; anything else stays retryable. */
export function asCloudFailure(err: unknown, cloud: string, integrationName: string): unknown {
  if (err instanceof CloudAuthError) {
    return ApplicationFailure.create({ message: `${cloud} refused the credentials of integration "${integrationName}" (${err.code}): ${err.message}`, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });
  }
  return err;
}
