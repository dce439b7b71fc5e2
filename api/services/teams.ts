import type { EntityManager } from '@mikro-orm/postgresql';
import { applySettingsPatch, type TeamSettings, type TeamSettingsPatch } from '../../contracts/teams.ts';
import { assertCan, type Principal } from '../../core/access.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { Team } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { findTeamBySlug, lockTeam, settingsOf } from '../../db/repositories/teams.ts';

type Caller = { principal: Principal; ip: string };

/** A team the caller cannot see is a 404, whatever they asked to do with it; a visible one without `permission` a 403. */
export async function teamFor(em: EntityManager, principal: Principal, slug: string, permission: 'runs:read' | 'team:manage'): Promise<Team> {
  const team = await findTeamBySlug(em, slug);
  if (!team) throw new NotFoundError('team not found');
  assertCan(principal, team.id, permission, 'team');
  return team;
}

/** Applies the patch under the team's row lock, audited with the settings before and after, in one transaction. */
export async function updateTeamSettings(em: EntityManager, caller: Caller, teamId: string, patch: TeamSettingsPatch): Promise<TeamSettings> {
  return em.transactional(async (tx) => {
    const team = await lockTeam(tx, teamId);
    if (!team) throw new NotFoundError('team not found');
    const before = settingsOf(team);
    const after = applySettingsPatch(before, patch);
    team.settings = after;
    recordAudit(tx, {
      actor: { id: caller.principal.id, email: caller.principal.email },
      action: 'team.settings.update',
      resourceType: 'team',
      resourceId: team.id,
      teamId: team.id,
      ip: caller.ip,
      data: { before, after },
    });
    return after;
  });
}
