import type { EntityManager } from '@mikro-orm/postgresql';
import { cacheTags } from '../../core/cache/tags.ts';
import { findTeamRecord, listTeams, toTeamView, type TeamRecord, type TeamView } from '../../db/repositories/teams.ts';
import type { AppDeps } from '../context.ts';

type TeamCacheDeps = Pick<AppDeps, 'cache' | 'runListChanges'>;

/** Bounds memory; changes reach the cache through the teams_changed trigger (core/cache/run-list-changes.ts). */
const TEAMS_TTL_MS = 60_000;

/**
 * What `read` finds in the teams table, from the cache while changes to the teams can be heard (else
 * from PostgreSQL). A value read while a change arrived is read again.
 */
async function cachedFromTeams<T>(deps: TeamCacheDeps, key: string, read: () => Promise<T>): Promise<T> {
  const changes = deps.runListChanges;
  if (!changes.trusted()) return read();
  return deps.cache.getOrSet(key, { ttlMs: TEAMS_TTL_MS, tags: [cacheTags.teams] }, async () => {
    const before = changes.generation([]);
    const value = await read();
    return changes.generation([]) === before ? value : read();
  });
}

/** Every team. `em` is asked for only on a miss: forking one costs a cached read more than the read itself. */
export function allTeams(deps: TeamCacheDeps, em: () => EntityManager): Promise<TeamView[]> {
  return cachedFromTeams(deps, 'teams:all', async () => (await listTeams(em())).map(toTeamView));
}

/**
 * One team by slug, for a request that acts in it (a run start), so a start does not pay an ORM read
 * for a row that changes a few times a year. Its settings decide auto-apply; a change to them reaches
 * every process through the same trigger as a rename.
 */
export function teamBySlug(deps: TeamCacheDeps, em: () => EntityManager, slug: string): Promise<TeamRecord | null> {
  return cachedFromTeams(deps, `team:${slug}`, () => findTeamRecord(em(), slug));
}
