import type { EntityManager } from '@mikro-orm/postgresql';
import { cacheTags } from '../../core/cache/tags.ts';
import { findTeamRecord, listTeams, toTeamView, type TeamRecord, type TeamView } from '../../db/repositories/teams.ts';
import type { AppDeps } from '../context.ts';

/** Bounds memory; changes reach the cache through the teams_changed trigger (core/cache/run-list-changes.ts). */
const TEAMS_TTL_MS = 60_000;

/**
 * Every team, from the cache while changes to the teams can be heard (else from PostgreSQL). A list
 * read while a change arrived is read again. `em` is asked for only on a miss: forking one costs a
 * cached read more than the read itself.
 */
export async function allTeams(deps: Pick<AppDeps, 'cache' | 'runListChanges'>, em: () => EntityManager): Promise<TeamView[]> {
  const changes = deps.runListChanges;
  const read = async () => (await listTeams(em())).map(toTeamView);
  if (!changes.trusted()) return read();
  return deps.cache.getOrSet('teams:all', { ttlMs: TEAMS_TTL_MS, tags: [cacheTags.teams] }, async () => {
    const before = changes.generation([]);
    const teams = await read();
    return changes.generation([]) === before ? teams : read();
  });
}

/**
 * One team by slug, for a request that acts in it (a run start): from the cache like the list, so a
 * start does not pay an ORM read for a row that changes a few times a year. Its settings decide
 * auto-apply; a change to them reaches every process through the same trigger as a rename, and a
 * record read while one arrived is read again.
 */
export async function teamBySlug(deps: Pick<AppDeps, 'cache' | 'runListChanges'>, em: () => EntityManager, slug: string): Promise<TeamRecord | null> {
  const changes = deps.runListChanges;
  const read = () => findTeamRecord(em(), slug);
  if (!changes.trusted()) return read();
  return deps.cache.getOrSet(`team:${slug}`, { ttlMs: TEAMS_TTL_MS, tags: [cacheTags.teams] }, async () => {
    const before = changes.generation([]);
    const team = await read();
    return changes.generation([]) === before ? team : read();
  });
}
