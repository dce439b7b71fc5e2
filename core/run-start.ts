import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Kind, ParsedParams } from '../contracts/kinds/index.ts';
import type { Requester } from '../contracts/runs.ts';
import type { AutoApprove, RunInput } from '../contracts/temporal.ts';
import type { Run, Team } from '../db/entities/index.ts';
import { settingsOf } from '../db/repositories/teams.ts';
import { approvalReaches, can, type Principal } from './access.ts';
import { NotAllowedError } from './errors.ts';
import { integrationSettings, recordRunIntegrations } from '../db/repositories/integrations.ts';
import { insertRun, updateRunState } from '../db/repositories/runs.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { RedisKeys } from './redis.ts';
import { publishRunChange, type RunEventStore } from './run-events.ts';

export type RunStartDeps = {
  config: Pick<Config, 'APPROVAL_TIMEOUT_SECONDS' | 'HEARTBEAT_TIMEOUT_SECONDS'>;
  temporal: Client;
  events: RunEventStore;
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  metrics?: Pick<Metrics, 'runsStarted'>;
};

export type NewRun = {
  kind: Kind;
  team: { id: string; slug: string };
  parsed: ParsedParams;
  requester: Requester;
  /** Who the audit row names (a person, or the platform's part that acted) and from where. */
  audit: { actor: { id: string; email: string }; ip?: string };
  autoApprove?: AutoApprove;
  rerunOf?: string;
};

/**
 * Records a run of any kind, for whoever asked (the API for a person; a schedule, a webhook or an
 * alert for the platform): the run row, its audit row, the integrations it uses and its first event in
 * one transaction. Returns the input its workflow must be started with (workflowId = run id).
 * Permissions are the caller's to check first. A second active run on the team's target fails at
 * insert (TargetBusyError). `id` lets a caller that may retry (a schedule's fire) make it idempotent.
 */
export async function recordRun(deps: Omit<RunStartDeps, 'temporal'>, em: EntityManager, input: NewRun & { id?: string }): Promise<{ run: Run; workflowInput: RunInput }> {
  const { kind, team, requester } = input;
  const parsed = kind.settledTarget
    ? { ...input.parsed, target: kind.settledTarget(input.parsed.params, await integrationSettings(em, team.id, input.parsed.integrations)) }
    : input.parsed;
  const id = input.id ?? crypto.randomUUID();
  const by = requester.type === 'user' ? requester.label : `${requester.type} ${requester.label}`;
  const record = async (tx: EntityManager) => {
    const inserted = await insertRun(tx, {
      id,
      kind: kind.kind,
      teamId: team.id,
      requester,
      target: parsed.target,
      params: parsed.params,
      audit: {
        actor: input.audit.actor,
        action: 'run.start',
        resourceType: 'run',
        resourceId: id,
        teamId: team.id,
        ...(input.audit.ip ? { ip: input.audit.ip } : {}),
        data: {
          kind: kind.kind,
          target: parsed.target,
          requester: `${requester.type}:${requester.id}`,
          ...(input.rerunOf ? { rerunOf: input.rerunOf } : {}),
          ...(input.autoApprove ? { autoApprove: input.autoApprove.reason } : {}),
        },
      },
      // With the row, before the workflow starts, so "queued" is always the run's first event.
      firstEvent: {
        type: 'status',
        level: 'info',
        message: `queued by ${by}${input.rerunOf ? ` (re-run of ${input.rerunOf})` : ''}`,
        data: { status: 'queued', requester, ...(input.rerunOf ? { rerunOf: input.rerunOf } : {}) },
        attempt: 0,
      },
    });
    await recordRunIntegrations(tx, id, parsed.integrations);
    return inserted;
  };
  // The row, its audit row and first event are one statement; the integrations it uses are a second,
  // so only a run that names some needs a transaction around both.
  const { run, firstEvent } = parsed.integrations.length ? await em.transactional(record) : await record(em);
  deps.events.publishStored(id, [firstEvent]);
  return { run, workflowInput: workflowInputFor(deps, id, team.id, parsed.params, input.autoApprove) };
}

/** What a run's workflow is started with; also rebuilt from the row by a retried schedule fire. */
export function workflowInputFor(deps: Pick<RunStartDeps, 'config'>, runId: string, teamId: string, params: Record<string, unknown>, autoApprove?: AutoApprove): RunInput {
  return {
    runId,
    teamId,
    params,
    approvalTimeoutMs: deps.config.APPROVAL_TIMEOUT_SECONDS * 1000,
    heartbeatTimeoutMs: deps.config.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    ...(autoApprove ? { autoApprove } : {}),
  };
}

/**
 * Records a run (recordRun) and starts its workflow. A workflow that could not be started leaves the
 * run failed and its target free, so a row never claims a run that is not.
 */
export async function startRunWorkflow(deps: RunStartDeps, em: EntityManager, input: NewRun): Promise<Run> {
  const { run, workflowInput } = await recordRun(deps, em, input);
  const { kind, team } = input;
  const id = run.id;
  try {
    await deps.temporal.workflow.start(kind.workflowType, { taskQueue: kind.taskQueue, workflowId: id, args: [workflowInput] });
  } catch (err) {
    await updateRunState(em.fork(), id, { status: 'failed', error: 'the workflow could not be started' });
    throw err;
  }
  deps.metrics?.runsStarted.inc({ kind: kind.kind });
  // The fast path for list views; the run is already recorded, so Redis being down must not fail the start.
  await publishRunChange(deps.redis, deps.keys, { id, status: 'queued', kind: kind.kind, team: team.slug, target: run.target ?? null, step: null }).catch((err: unknown) =>
    deps.logger.warn({ err, runId: id }, 'announcing a run change failed'),
  );
  return run;
}

/**
 * Who may skip the approval: a starter with runs:approve on the team without four-eyes, or anyone who
 * may start the kind when the team's settings allow auto-apply for it. With four-eyes on, holding
 * runs:approve is not enough (that would be approving one's own run). The workflow applies without
 * approval only when its input carries the grant this returns.
 */
export function autoApprovalFor(principal: Principal, team: Pick<Team, 'id' | 'settings'>, kind: string): AutoApprove {
  const settings = settingsOf(team);
  const grant = (reason: AutoApprove['reason']): AutoApprove => ({ by: principal.id, byEmail: principal.email, reason });
  if (settings.autoApply.kinds.includes(kind)) return grant('team-setting');
  // The kind's gate; an approver limited to some targets never skips it (it does not know the target here).
  if (can(principal, team.id, `runs:approve:${kind}`) && approvalReaches(principal, team.id, []) && !settings.fourEyes) return grant('permission');
  const why = settings.fourEyes ? 'four-eyes is on for this team, so a run needs an approver other than the one who started it' : 'it needs runs:approve on this team';
  throw new NotAllowedError(`auto-apply not allowed: ${why}`, [{ field: 'params.autoApply', message: `not allowed: ${why}` }]);
}
