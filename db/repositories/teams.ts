import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../contracts/permissions.ts';
import { teamSettingsSchema, type TeamSettings } from '../../contracts/teams.ts';
import { MembershipSchema, TeamSchema, UserSchema, type Membership, type Team } from '../entities/index.ts';

export type TeamView = { id: string; slug: string; name: string; createdAt: string };
export type MemberView = { userId: string; email: string; name: string; role: Role; customRole: { id: string; name: string } | null; since: string };

export const toTeamView = (team: Team): TeamView => ({ id: team.id, slug: team.slug, name: team.name, createdAt: team.createdAt.toISOString() });

function toMemberView(m: Membership): MemberView {
  const user = m.user as unknown as { id: string; email: string; name: string };
  const custom = m.customRole as unknown as { id: string; name: string } | null;
  return { userId: user.id, email: user.email, name: user.name, role: m.role, customRole: custom ? { id: custom.id, name: custom.name } : null, since: m.createdAt.toISOString() };
}

/** Queues the insert; the caller flushes (together with its audit row). */
export function createTeamRow(em: EntityManager, input: { slug: string; name: string }): Team {
  return em.create(TeamSchema, { id: crypto.randomUUID(), slug: input.slug, name: input.name });
}

export async function findTeamBySlug(em: EntityManager, slug: string): Promise<Team | null> {
  return em.findOne(TeamSchema, { slug });
}

/** What a request needs of a team to act in it: no entity, so it can be cached as it is. */
export type TeamRecord = Pick<Team, 'id' | 'slug' | 'name' | 'settings'>;

export async function findTeamRecord(em: EntityManager, slug: string): Promise<TeamRecord | null> {
  const [row] = await em.getConnection().execute<TeamRecord[]>('select id, slug, name, settings from teams where slug = ?', [slug]);
  return row ?? null;
}

/** The team's settings with defaults for whatever the stored document does not say. */
export const settingsOf = (team: Pick<Team, 'settings'>): TeamSettings => teamSettingsSchema.parse(team.settings ?? {});

/** A team's settings by id (the Terraform activity reads its `terraform` policy here); null when there is no such team. */
export async function findTeamSettings(em: EntityManager, teamId: string): Promise<TeamSettings | null> {
  const team = await em.findOne(TeamSchema, { id: teamId }, { fields: ['settings'] });
  return team ? settingsOf(team) : null;
}

/** The team row-locked for an update in the transaction `em` runs in. */
export async function lockTeam(em: EntityManager, id: string): Promise<Team | null> {
  return em.findOne(TeamSchema, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** All teams, or only those with the given ids (undefined = no restriction). */
export async function listTeams(em: EntityManager, ids?: string[]): Promise<Team[]> {
  if (ids && ids.length === 0) return [];
  return em.find(TeamSchema, ids ? { id: { $in: ids } } : {}, { orderBy: { slug: 'asc' } });
}

export async function listMembers(em: EntityManager, teamId: string): Promise<MemberView[]> {
  const rows = await em.find(MembershipSchema, { team: teamId }, { populate: ['user', 'customRole'], orderBy: { createdAt: 'asc' } });
  return rows.map(toMemberView);
}

/**
 * Sets the user's role in the team, creating the membership when there is none. Queues the change;
 * the caller flushes. Returns the role held before (null when the user was not a member).
 */
export async function putMembership(
  em: EntityManager,
  teamId: string,
  userId: string,
  role: Role,
): Promise<{ member: MemberView; previousRole: Role | null }> {
  const existing = await em.findOne(MembershipSchema, { team: teamId, user: userId }, { populate: ['user', 'customRole'] });
  if (existing) {
    const previousRole = existing.role;
    existing.role = role;
    return { member: toMemberView(existing), previousRole };
  }
  const created = em.create(MembershipSchema, {
    id: crypto.randomUUID(),
    team: em.getReference(TeamSchema, teamId),
    user: em.getReference(UserSchema, userId),
    role,
    createdAt: new Date(),
  });
  await em.populate(created, ['user']);
  return { member: toMemberView(created), previousRole: null };
}

/** Queues the removal; returns the removed role, or null when the user was not a member. */
export async function removeMembership(em: EntityManager, teamId: string, userId: string): Promise<Role | null> {
  const existing = await em.findOne(MembershipSchema, { team: teamId, user: userId });
  if (!existing) return null;
  em.remove(existing);
  return existing.role;
}

/**
 * Locks every membership row of the team until the transaction `em` runs in ends, and returns who
 * holds which role. Role changes and removals that must keep an admin take this first, so two of them
 * cannot each see "another admin remains" and together remove both. Id order: no lock-order deadlock.
 */
export async function lockMemberships(em: EntityManager, teamId: string): Promise<{ userId: string; role: Role }[]> {
  const rows = await em.execute<{ user_id: string; role: Role }[]>('select user_id, role from memberships where team_id = ? order by id for update', [teamId]);
  return rows.map((r) => ({ userId: r.user_id, role: r.role }));
}

/**
 * Memberships an identity provider's mapping wanted to demote or remove but kept as the team's last
 * admin (audit `action`, data.provider = `provider`, since `since`) where that still holds: the user is
 * still admin and still the only one. Newest row per membership.
 */
export async function findStandingLastAdminKeeps(
  em: EntityManager,
  opts: { action: string; provider: string; since: Date },
): Promise<{ teamSlug: string; userId: string; email: string; mappedRole: Role | null; at: Date }[]> {
  const rows = await em.execute<{ team_slug: string; user_id: string; email: string; mapped_role: Role | null; created_at: Date }[]>(
    `select distinct on (a.resource_id) t.slug as team_slug, u.id as user_id, u.email, a.data->>'mappedRole' as mapped_role, a.created_at
       from audit_log a
       join teams t on t.id = a.team_id
       join memberships m on m.team_id = a.team_id and m.role = 'admin'
       join users u on u.id = m.user_id and u.id::text = a.data->>'userId'
      where a.action = ? and a.resource_type = 'membership' and a.data->>'provider' = ? and a.created_at > ?
        and not exists (select 1 from memberships o where o.team_id = a.team_id and o.role = 'admin' and o.user_id <> u.id)
      order by a.resource_id, a.id desc`,
    [opts.action, opts.provider, opts.since],
  );
  return rows.map((r) => ({ teamSlug: r.team_slug, userId: r.user_id, email: r.email, mappedRole: r.mapped_role, at: new Date(r.created_at) }));
}
