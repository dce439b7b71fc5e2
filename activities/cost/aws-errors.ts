import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

// What AWS answers when the keys or the role are wrong, expired or not allowed: no retry fixes these.
const CREDENTIAL_ERRORS = new Set(['AuthFailure', 'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException', 'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'InvalidAccessKeyId']);

/** Turns AWS's credential refusals into a non-retryable failure naming the integration; anything else stays retryable. */
export function asAwsFailure(err: unknown, integrationName: string): unknown {
  const name = (err as { name?: string }).name ?? '';
  if (CREDENTIAL_ERRORS.has(name)) {
    return ApplicationFailure.create({ message: `AWS refused the credentials of integration "${integrationName}" (${name}): ${(err as Error).message}`, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });
  }
  return err;
}
