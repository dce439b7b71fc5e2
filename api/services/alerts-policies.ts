import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { CreatePolicyRequest, EscalationStep, PolicyView, UpdatePolicyRequest } from '../../contracts/alerts/index.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotFoundError, staleEdit } from '../../core/errors.ts';
import { EscalationPolicySchema, IntegrationSchema, MembershipSchema, OnCallScheduleSchema, TeamSchema, type EscalationPolicy } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';

type Caller = { principal: Principal; ip: string };
const teamOf = (p: EscalationPolicy) => p.team as unknown as { id: string; slug: string };
const NOTIFY_TYPES = ['smtp', 'webhook', 'slack', 'slack-webhook', 'pagerduty', 'twilio', 'fcm', 'apns'];

export const toPolicyView = (p: EscalationPolicy): PolicyView => ({
  id: p.id, team: teamOf(p).slug, name: p.name, version: p.version, default: p.isDefault, steps: p.steps, repeat: p.repeat, ackTimeoutSeconds: p.ackTimeoutSeconds, updatedAt: p.updatedAt.toISOString(),
});

const PERSON_CHANNELS = new Set(['smtp', 'twilio', 'apns', 'fcm']);

/** Every user, schedule and integration a step names must be the team's own (a 400 naming the step's field). */
async function checkSteps(em: EntityManager, teamId: string, steps: EscalationStep[]): Promise<void> {
  const errors: { field: string; message: string }[] = [];
  for (const [i, step] of steps.entries()) {
    if (step.type === 'notify_users' || step.type === 'notify_oncall') {
      const via = await em.findOne(IntegrationSchema, { id: step.via, team: teamId });
      // People are reached at their own addresses: email (smtp), phone (twilio) or devices (apns, fcm).
      if (!via || !PERSON_CHANNELS.has(via.type)) errors.push({ field: `steps.${i}.via`, message: 'not an smtp, twilio, apns or fcm integration of the team' });
    }
    if (step.type === 'notify_users') {
      const members = await em.count(MembershipSchema, { team: teamId, user: { $in: step.users } });
      if (members !== new Set(step.users).size) errors.push({ field: `steps.${i}.users`, message: 'every user must be a member of the team' });
    } else if (step.type === 'notify_oncall') {
      if (!(await em.count(OnCallScheduleSchema, { id: step.schedule, team: teamId }))) errors.push({ field: `steps.${i}.schedule`, message: 'not an on-call schedule of the team' });
    } else if (step.type === 'notify_channel') {
      const row = await em.findOne(IntegrationSchema, { id: step.integration, team: teamId });
      if (!row || !NOTIFY_TYPES.includes(row.type)) errors.push({ field: `steps.${i}.integration`, message: `not a notification integration of the team (${NOTIFY_TYPES.join(', ')})` });
    }
  }
  if (errors.length) throw new InputError('the policy names things the team does not have', errors);
}

async function saveUnique<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw new ConflictError(`the team already has a policy named "${name}"`, { errors: [{ field: 'name', message: 'already taken' }] });
    throw err;
  }
}

/** A team's single default policy: setting one clears the flag on the others in the same transaction. */
async function clearOtherDefaults(tx: EntityManager, teamId: string, keep: string) {
  await tx.nativeUpdate(EscalationPolicySchema, { team: teamId, isDefault: true, id: { $ne: keep } }, { isDefault: false });
}

export async function policyFor(em: EntityManager, principal: Principal, id: string, manage = false): Promise<EscalationPolicy> {
  const p = await em.findOne(EscalationPolicySchema, { id }, { populate: ['team'] });
  const visible = visibleTeamIds(principal);
  if (!p || (visible && !visible.includes(teamOf(p).id))) throw new NotFoundError('escalation policy not found');
  if (manage) assertCan(principal, teamOf(p).id, 'alerts:manage', 'escalation policy');
  return p;
}

export async function listPolicies(em: EntityManager, principal: Principal, team?: string): Promise<PolicyView[]> {
  const visible = visibleTeamIds(principal);
  const where: Record<string, unknown> = {};
  if (visible) where.team = { $in: visible };
  if (team) where.team = { ...(where.team as object), slug: team };
  return (await em.find(EscalationPolicySchema, where, { populate: ['team'], orderBy: { name: 'asc' }, limit: 500 })).map(toPolicyView);
}

export async function createPolicy(em: EntityManager, caller: Caller, body: CreatePolicyRequest): Promise<PolicyView> {
  const team = await em.findOne(TeamSchema, { slug: body.team });
  const visible = visibleTeamIds(caller.principal);
  if (!team || (visible && !visible.includes(team.id))) throw new NotFoundError('team not found');
  assertCan(caller.principal, team.id, 'alerts:manage', 'team');
  await checkSteps(em, team.id, body.steps);
  const id = crypto.randomUUID();
  const row = await saveUnique(body.name, () =>
    em.transactional(async (tx) => {
      const p = tx.create(EscalationPolicySchema, { id, team, name: body.name, version: 1, isDefault: body.default, steps: body.steps, repeat: body.repeat, ackTimeoutSeconds: body.ackTimeoutSeconds });
      if (body.default) await clearOtherDefaults(tx, team.id, id);
      recordAudit(tx, { actor: { id: caller.principal.id, email: caller.principal.email }, action: 'escalation_policy.create', resourceType: 'escalation_policy', resourceId: id, teamId: team.id, ip: caller.ip, data: { name: body.name } });
      return p;
    }),
  );
  return toPolicyView(row);
}

/** Replaces the steps (a new version); alerts already escalating keep the version they started with. */
export async function updatePolicy(em: EntityManager, caller: Caller, id: string, body: UpdatePolicyRequest): Promise<PolicyView> {
  const p = await policyFor(em, caller.principal, id, true);
  await checkSteps(em, teamOf(p).id, body.steps);
  const from = body.version ?? p.version;
  const change = { steps: body.steps, repeat: body.repeat, ackTimeoutSeconds: body.ackTimeoutSeconds, version: from + 1, updatedAt: new Date(), ...(body.name ? { name: body.name } : {}), ...(body.default !== undefined ? { isDefault: body.default } : {}) };
  await saveUnique(change.name ?? p.name, () =>
    em.transactional(async (tx) => {
      // Conditional on the version edited from: two edits of one version must not both become the next
      // one, since an alert's escalation is known by the version it started with.
      if ((await tx.nativeUpdate(EscalationPolicySchema, { id, version: from }, change)) === 0) throw staleEdit('escalation policy', from);
      if (change.isDefault ?? p.isDefault) await clearOtherDefaults(tx, teamOf(p).id, p.id);
      recordAudit(tx, { actor: { id: caller.principal.id, email: caller.principal.email }, action: 'escalation_policy.update', resourceType: 'escalation_policy', resourceId: id, teamId: teamOf(p).id, ip: caller.ip, data: { version: change.version } });
    }),
  );
  return toPolicyView(await em.fork().findOneOrFail(EscalationPolicySchema, { id }, { populate: ['team'] }));
}
