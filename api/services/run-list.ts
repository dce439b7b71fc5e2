import { hash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectRunFields, type ListRunsQuery, type RunView } from '../../contracts/runs.ts';
import { visibleTeamIds, type Principal } from '../../core/access.ts';
import { cacheTags } from '../../core/cache/tags.ts';
import { InputError } from '../../core/errors.ts';
import { decodeCursor, listRuns, servedRunView, servedTimes, storedTimes, toStoredRunView, type StoredRunView, type Times } from '../../db/repositories/runs.ts';
import type { AppDeps } from '../context.ts';
import type { SameBytes } from '../middleware/compression.ts';
import { allTeams } from './team-list.ts';

/** Bounds memory, not staleness: a change reaches the cache through run-list-changes within milliseconds. */
const RUN_PAGE_TTL_MS = 30_000;
/** Past this many teams a page carries the all-teams tag instead of one per team (each tag is checked on every read). */
const MAX_TEAM_TAGS = 16;
/** A page read while its teams' runs changed is read again, at most this many times. */
const MAX_REREADS = 3;

type Page = { runs: StoredRunView[]; nextCursor: string | null };

/**
 * One page of the runs the caller may see, newest first, as the JSON the route answers. Pages are
 * cached by the set of teams and the filters (never by who asks: what a caller may see is only which
 * teams), and dropped when a run of one of those teams changes; while those changes cannot be heard
 * the page comes from PostgreSQL. `em` is asked for only when the page is read from there.
 */
export async function runPage(deps: Pick<AppDeps, 'cache' | 'runListChanges'>, em: () => EntityManager, principal: Principal, query: ListRunsQuery) {
  let teamIds = visibleTeamIds(principal);
  if (query.team) {
    const team = (await allTeams(deps, em)).find((t) => t.slug === query.team);
    teamIds = team && (!teamIds || teamIds.includes(team.id)) ? [team.id] : [];
  }
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  if (after === null) throw new InputError('invalid cursor', [{ field: 'cursor', message: 'not a cursor this API issued' }]);

  const read = async (): Promise<Page> => {
    const ids = teamIds ?? (await allTeams(deps, em)).map((t) => t.id);
    const { runs, nextCursor } = await listRuns(em(), { ...query, teamIds: ids, ...(after ? { after } : {}) });
    return { runs: runs.map(toStoredRunView), nextCursor };
  };
  const { fields, team: _team, ...filters } = query;
  const changes = deps.runListChanges;
  let page: Page;
  if (!changes.trusted()) {
    page = await read();
  } else {
    const teams = teamIds ? [...teamIds].sort() : undefined;
    const key = hash('sha256', JSON.stringify([teams ?? '*', filters]), 'base64url');
    const tags = [cacheTags.allRuns, ...(teams && teams.length <= MAX_TEAM_TAGS ? teams.map(cacheTags.runs) : [cacheTags.runsOfAllTeams])];
    page = await deps.cache.getOrSet(`runs:${key}`, { ttlMs: RUN_PAGE_TTL_MS, tags }, async () => {
      for (let attempt = 1; ; attempt++) {
        const before = changes.generation(teams);
        const fresh = await read();
        if (changes.generation(teams) === before || attempt >= MAX_REREADS) return fresh;
      }
    });
  }
  const now = Date.now();
  if (fields) return JSON.stringify({ runs: page.runs.map((r): Partial<RunView> => selectRunFields(servedRunView(r, now), fields)), nextCursor: page.nextCursor });
  const settled = settledBodies.get(page);
  if (settled) return settled;
  const json = `{"runs":[${page.runs.map((r) => runJson(r, now)).join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
  if (!page.runs.every((r) => clockStopped(serialised.get(r)!.times))) return json;
  const body: SameBytes = { identity: Buffer.from(json), encoded: {} };
  settledBodies.set(page, body);
  return body;
}

/**
 * A page whose runs' clocks have all stopped (ended or not yet started, none waiting) is the same
 * bytes on every read of the cached page: kept beside it, with each encoding a client asked for made
 * once (answerSameBytes). A dashboard's run list is mostly such runs. A page read from PostgreSQL is a
 * new object each time, so its bytes are simply not found again.
 */
const settledBodies = new WeakMap<Page, SameBytes>();
const clockStopped = (t: Times) => t.waitingSince === null && (t.finishedAt !== null || t.startedAt === null);

/**
 * A run's JSON is the same on every read but for the two times that grow (waitingMs, workingMs): the
 * rest is serialised once per stored view. The cache hands out the same frozen instance on every hit,
 * so a page served from it costs a look-up per run instead of copying and serialising every view
 * (their params carry whole files). A view read from PostgreSQL is simply not found again.
 */
const serialised = new WeakMap<StoredRunView, { head: string; times: Times }>();

function runJson(stored: StoredRunView, now: number): string {
  let known = serialised.get(stored);
  if (!known) {
    const { waitingMs: _waiting, workingMs: _working, ...rest } = stored.view;
    known = { head: JSON.stringify(rest).slice(0, -1), times: storedTimes(stored) };
    serialised.set(stored, known);
  }
  const { waitingMs, workingMs } = servedTimes(known.times, now);
  return `${known.head},"waitingMs":${waitingMs},"workingMs":${workingMs}}`;
}
