import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { forgetUnsavedState, unsavedStates } from '../../db/repositories/terraform-states.ts';
import type { ProcessRunner } from '../process/runner.ts';
import { writeSandboxFile } from '../process/sandbox-files.ts';
import { initArgs, LOCK_WAIT, settle, type Session } from './session.ts';

/**
 * Pushes every state terraform could not save into the session's workspace, oldest first, whichever
 * run left it: a plan made without it would not know what that apply created, and would create it
 * again. A push that fails stops the step for a person.
 */
export async function pushUnsavedStates(deps: { em: EntityManager; runner: ProcessRunner }, session: Session): Promise<void> {
  for (const unsaved of await unsavedStates(deps.em.fork(), session.state.schema)) {
    const file = path.join(session.dirs.workDir, `unsaved-${unsaved.id}.tfstate`);
    await writeSandboxFile(file, unsaved.state, session.sandbox);
    await session.run('init', initArgs(session.state.schema));
    try {
      settle('state push', await deps.runner.exec(session.spec(`state-push-${unsaved.id.slice(0, 8)}`, ['state', 'push', LOCK_WAIT, path.basename(file)])));
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === FAILURE_TYPES.terraform) {
        throw ApplicationFailure.create({
          message:
            `terraform could not save the state of ${session.state.schema} after applying, and pushing it failed: ${err.message}. ` +
            `The state is kept in OpsSight's database (table terraform_unsaved_states, id ${unsaved.id}); ` +
            'push it with `terraform state push`: until then no run plans or applies on this workspace.',
          type: FAILURE_TYPES.needsAttention,
          nonRetryable: true,
        });
      }
      throw err;
    }
    await forgetUnsavedState(deps.em.fork(), unsaved.id);
    await rm(file, { force: true });
  }
}
