/**
 * The tags cached values carry, and that writes invalidate (core/cache/cache.ts). One place, so the
 * writer and the reader of a tag cannot spell it differently.
 */
export const cacheTags = {
  /** Everything derived from one user's row or memberships: their principal. */
  user: (userId: string) => `user:${userId}`,
  /** One login session: the principal of the tokens issued for it. */
  session: (family: string) => `session:${family}`,
  /** The list of teams (create, rename). */
  teams: 'teams',
  /** List pages of one team's runs. */
  runs: (teamId: string) => `runs:${teamId}`,
  /** List pages over every team (a platform admin's): stale after a change to any team's runs. */
  runsOfAllTeams: 'runs:all-teams',
  /** Every run list page, whatever its teams. */
  allRuns: 'runs',
} as const;
