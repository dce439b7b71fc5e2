import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { createOnCallScheduleRequestSchema, updateOnCallScheduleRequestSchema } from '../../contracts/alerts/index.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotFoundError, staleEdit } from '../../core/errors.ts';
import { onCallAt, shiftsBetween } from '../../core/oncall/rotation.ts';
import { MembershipSchema, OnCallScheduleSchema, TeamSchema, UserSchema, type OnCallSchedule } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';

type Caller = { principal: Principal; ip: string };
type CreateBody = z.infer<typeof createOnCallScheduleRequestSchema>;
type UpdateBody = z.infer<typeof updateOnCallScheduleRequestSchema>;
const teamOf = (s: OnCallSchedule) => s.team as unknown as { id: string; slug: string };

export const toOnCallView = (s: OnCallSchedule) => ({ id: s.id, team: teamOf(s).slug, name: s.name, version: s.version, layers: s.layers, overrides: s.overrides });

export async function onCallScheduleFor(em: EntityManager, principal: Principal, id: string): Promise<OnCallSchedule> {
  const s = await em.findOne(OnCallScheduleSchema, { id }, { populate: ['team'] });
  const visible = visibleTeamIds(principal);
  if (!s || (visible && !visible.includes(teamOf(s).id))) throw new NotFoundError('on-call schedule not found');
  return s;
}

/** The schedules of the teams the caller can see (of one team with `team`), by name. */
export async function listOnCallSchedules(em: EntityManager, principal: Principal, team?: string) {
  const visible = visibleTeamIds(principal);
  const where: Record<string, unknown> = {};
  if (visible) where.team = { $in: visible };
  if (team) where.team = { ...(where.team as object), slug: team };
  return (await em.find(OnCallScheduleSchema, where, { populate: ['team'], orderBy: { name: 'asc' }, limit: 500 })).map(toOnCallView);
}

export async function createOnCallSchedule(em: EntityManager, caller: Caller, body: CreateBody) {
  const team = await em.findOne(TeamSchema, { slug: body.team });
  const visible = visibleTeamIds(caller.principal);
  if (!team || (visible && !visible.includes(team.id))) throw new NotFoundError('team not found');
  assertCan(caller.principal, team.id, 'alerts:manage', 'team');
  await checkMembers(em, team.id, body);
  const id = crypto.randomUUID();
  try {
    const row = await em.transactional(async (tx) => {
      const s = tx.create(OnCallScheduleSchema, { id, team, name: body.name, layers: body.layers, overrides: body.overrides });
      recordAudit(tx, { actor: { id: caller.principal.id, email: caller.principal.email }, action: 'oncall_schedule.create', resourceType: 'oncall_schedule', resourceId: id, teamId: team.id, ip: caller.ip, data: { name: body.name } });
      return s;
    });
    return toOnCallView(row);
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw nameTaken(body.name);
    throw err;
  }
}

const nameTaken = (name: string) => new ConflictError(`the team already has a schedule named "${name}"`, { errors: [{ field: 'name', message: 'already taken' }] });

/**
 * Everyone a layer or an override names must be on the team: a schedule cannot page outsiders. Each
 * offending layer's or override's field is named, so a form can show the message beside it.
 */
async function checkMembers(em: EntityManager, teamId: string, body: Pick<CreateBody, 'layers' | 'overrides'>): Promise<void> {
  const named = [...new Set([...body.layers.flatMap((l) => l.users), ...body.overrides.map((o) => o.user)])];
  const members = new Set((await em.find(MembershipSchema, { team: teamId, user: { $in: named } }, { fields: ['user'] })).map((m) => (m.user as unknown as { id: string }).id));
  const errors = [
    ...body.layers.flatMap((l, i) => (l.users.every((u) => members.has(u)) ? [] : [{ field: `layers.${i}.users`, message: 'names a user who is not a member of the team' }])),
    ...body.overrides.flatMap((o, i) => (members.has(o.user) ? [] : [{ field: `overrides.${i}.user`, message: 'not a member of the team' }])),
  ];
  if (errors.length) throw new InputError('users must be members of the team', errors);
}

/** Replaces a schedule's name, layers and overrides at once (alerts:manage); alerts already paging are unaffected. */
export async function updateOnCallSchedule(em: EntityManager, caller: Caller, id: string, body: UpdateBody) {
  const s = await onCallScheduleFor(em, caller.principal, id);
  const team = teamOf(s);
  assertCan(caller.principal, team.id, 'alerts:manage', 'team');
  await checkMembers(em, team.id, body);
  const from = body.version ?? s.version;
  try {
    await em.transactional(async (tx) => {
      // Conditional on the version edited from, so of two concurrent edits of one version the second is refused.
      const changed = await tx.nativeUpdate(OnCallScheduleSchema, { id, version: from }, { name: body.name, layers: body.layers, overrides: body.overrides, version: from + 1, updatedAt: new Date() });
      if (changed === 0) throw staleEdit('on-call schedule', from);
      recordAudit(tx, { actor: { id: caller.principal.id, email: caller.principal.email }, action: 'oncall_schedule.update', resourceType: 'oncall_schedule', resourceId: id, teamId: team.id, ip: caller.ip, data: { name: body.name, version: from + 1, layers: body.layers.length, overrides: body.overrides.length } });
    });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw nameTaken(body.name);
    throw err;
  }
  return toOnCallView(await em.fork().findOneOrFail(OnCallScheduleSchema, { id }, { populate: ['team'] }));
}

export async function onCallNow(em: EntityManager, principal: Principal, id: string, at?: string) {
  const s = await onCallScheduleFor(em, principal, id);
  const t = at ? Date.parse(at) : Date.now();
  const who = onCallAt(s, t);
  const user = who.user ? await em.findOne(UserSchema, { id: who.user }) : null;
  return { schedule: s.id, at: new Date(t).toISOString(), user: user ? { id: user.id, email: user.email } : null, layer: who.layer };
}

export async function onCallRange(em: EntityManager, principal: Principal, id: string, from: string, to: string) {
  const s = await onCallScheduleFor(em, principal, id);
  return { schedule: s.id, shifts: shiftsBetween(s, Date.parse(from), Date.parse(to)) };
}

