import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeployParams, DeploySummary } from '../../contracts/kinds/deploy.ts';
import type { RunView } from '../../contracts/runs.ts';
import type { Principal } from '../../core/access.ts';
import { ConflictError } from '../../core/errors.ts';
import { settingsOf } from '../../db/repositories/teams.ts';
import type { AppDeps } from '../context.ts';
import { runFor, startRun } from './runs.ts';

/**
 * Starts a deploy run that puts back what a succeeded deploy replaced: the images its summary
 * recorded as live before it. It is an ordinary deploy (diff first; approval when the original asked
 * for one or the team's settings say `deploy.rollbackApproval`; verification, automatic rollback),
 * started as the caller with their permissions, linked both ways: its params name the original (`rollbackOf`), and the original's events name it.
 * Environment changes of the original are not undone: their values are never recorded (they may be secrets).
 */
export async function rollbackDeploy(deps: AppDeps, em: EntityManager, caller: { principal: Principal; ip: string }, id: string): Promise<RunView> {
  const source = await runFor(em, caller.principal, id, 'runs:read');
  if (source.kind !== 'deploy') throw new ConflictError(`only a deploy run can be rolled back; this is a ${source.kind} run`, { runStatus: source.status });
  if (source.status !== 'succeeded') throw new ConflictError(`only a succeeded deploy can be rolled back; this one is ${source.status}`, { runStatus: source.status });
  const previous = (source.summary as DeploySummary | null)?.previous;
  if (!previous || Object.keys(previous).length === 0) throw new ConflictError('this deploy recorded no previous version to go back to', { runStatus: source.status });

  const params = structuredClone(source.params) as DeployParams;
  const target =
    params.target.platform === 'docker'
      ? { ...params.target, image: previous[params.target.container] ?? params.target.image, env: {} }
      : { ...params.target, images: previous, env: {} };
  const team = source.team as unknown as { slug: string };
  // Approval when the original asked for one, or when the team wants every rollback looked at first.
  const requireApproval = params.requireApproval || settingsOf(source.team).deploy.rollbackApproval;
  const run = await startRun(deps, em, caller, { kind: 'deploy', team: team.slug, params: { ...params, target, requireApproval, rollbackOf: source.id } }, source.id);
  await deps.events.append(source.id, [
    { type: 'step', level: 'info', message: `rollback to ${[...new Set(Object.values(previous))].join(', ')} started as run ${run.id} by ${caller.principal.email}`, data: { rollbackRun: run.id }, attempt: 0 },
  ]);
  return run;
}
