import type { EntityManager } from '@mikro-orm/postgresql';
import { kindNamed } from '../contracts/kinds/index.ts';
import type { PreparedFire, ScheduleFireActivities } from '../contracts/schedules.ts';
import { can } from '../core/access.ts';
import { DomainError } from '../core/errors.ts';
import { recordRun, autoApprovalFor, workflowInputFor, type RunStartDeps } from '../core/run-start.ts';
import { runIdOfFire } from '../core/schedule-fires.ts';
import { ScheduleSchema, type Team } from '../db/entities/index.ts';
import { actingUser } from '../db/repositories/access.ts';
import { UnknownIntegrationError } from '../db/repositories/integrations.ts';
import { TargetBusyError, findRun, updateRunState } from '../db/repositories/runs.ts';

export type ScheduleActivityDeps = Omit<RunStartDeps, 'temporal'> & { em: EntityManager };

/**
 * One fire of a schedule, as its author would start it now: the schedule and its author are read at
 * fire time, so an edit, a lost permission or a disabled author takes effect at the next fire. The run
 * id comes from the fire, so a retried activity returns the run the first attempt recorded.
 */
export function createScheduleActivities(deps: ScheduleActivityDeps): ScheduleFireActivities {
  const remember = async (scheduleId: string, outcome: { runId: string } | { skip: string }) => {
    const em = deps.em.fork();
    await em.nativeUpdate(ScheduleSchema, { id: scheduleId }, {
      lastFireAt: new Date(),
      lastRunId: 'runId' in outcome ? outcome.runId : null,
      lastSkip: 'skip' in outcome ? outcome.skip : null,
    });
  };

  return {
    async prepareScheduledRun(input: { scheduleId: string; fireId: string }): Promise<PreparedFire> {
      const em = deps.em.fork();
      const runId = runIdOfFire(input.fireId);
      // A retry of a fire whose run is recorded: that run is started, or failed saying why it cannot
      // be (never left queued, holding its target, for the reconciler to find).
      const existing = await findRun(em, runId);
      const skip = async (reason: string): Promise<PreparedFire> => {
        if (existing) await updateRunState(deps.em.fork(), runId, { status: 'failed', error: `the schedule's run was not started: ${reason}` });
        await remember(input.scheduleId, { skip: reason });
        deps.logger.warn({ scheduleId: input.scheduleId, reason }, 'a schedule fired but started no run');
        return { outcome: 'skipped', reason };
      };
      const schedule = await em.findOne(ScheduleSchema, { id: input.scheduleId }, { populate: ['team'] });
      if (!schedule) return skip('the schedule no longer exists');
      const kind = kindNamed(schedule.kind);
      if (!kind) return skip(`kind ${schedule.kind} is not offered any more`);
      const team = schedule.team as unknown as Team;

      const authorId = (schedule.createdBy as { id: string } | null)?.id;
      const author = authorId ? await actingUser(em, authorId) : null;
      if (!author) return skip('its author no longer exists or is disabled: an admin must take the schedule over (edit it) or delete it');
      if (!can(author, team.id, `runs:start:${kind.kind}`)) return skip(`its author ${author.email} may no longer start ${kind.kind} runs in ${team.slug}`);
      const parsed = kind.parse(schedule.params);
      if (!parsed.ok) return skip(`its params are no longer valid: ${parsed.error.issues.map((i) => `${['params', ...i.path].join('.')}: ${i.message}`).join('; ')}`);
      let autoApprove;
      try {
        autoApprove = parsed.value.params.autoApply === true ? autoApprovalFor(author, team, kind.kind) : undefined;
      } catch (err) {
        if (err instanceof DomainError) return skip(err.message);
        throw err;
      }
      if (existing) {
        return { outcome: 'ready', runId, workflowType: kind.workflowType, taskQueue: kind.taskQueue, input: workflowInputFor(deps, runId, team.id, existing.params, autoApprove) };
      }
      try {
        const { workflowInput } = await recordRun(deps, em, {
          id: runId,
          kind,
          team,
          parsed: parsed.value,
          requester: { type: 'schedule', id: schedule.id, label: schedule.name },
          audit: { actor: { id: author.id, email: author.email } },
          ...(autoApprove ? { autoApprove } : {}),
        });
        await remember(schedule.id, { runId });
        return { outcome: 'ready', runId, workflowType: kind.workflowType, taskQueue: kind.taskQueue, input: workflowInput };
      } catch (err) {
        if (err instanceof TargetBusyError) return skip(`${err.target} already has an active ${kind.kind} run`);
        // Saved before the API checked integration ids, or one deleted since: retrying cannot help.
        if (err instanceof UnknownIntegrationError) return skip(`its params name integrations that are not the team's: ${err.ids.join(', ')}`);
        throw err;
      }
    },

    /** The launcher could not start the run's workflow: the row must not claim a run that is not. */
    async failUnstartedRun(input: { runId: string }): Promise<void> {
      await updateRunState(deps.em.fork(), input.runId, { status: 'failed', error: 'the workflow could not be started' });
    },
  };
}
