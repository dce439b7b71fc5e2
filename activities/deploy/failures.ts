import { ApplicationFailure } from '@temporalio/common';
import { DEPLOY_FAILED } from '../../contracts/kinds/deploy.ts';

/** A clear, final deploy error: the workflow rolls back (when anything changed) and ends `failed` with this message. */
export const deployFailure = (message: string) => ApplicationFailure.create({ message, type: DEPLOY_FAILED, nonRetryable: true });
