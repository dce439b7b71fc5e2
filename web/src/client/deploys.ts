import type { DeploySummary } from '../../../contracts/kinds/deploy.ts';
import { isTerminal, type RunView } from '../../../contracts/runs.ts';
import { get, query } from './http.ts';

/** A target's deploy runs, newest first (GET /api/v1/runs?kind=deploy&target=…). */
export async function deployHistory(team: string, target: string, limit = 50): Promise<RunView[]> {
  const page = await get<{ runs: RunView[] }>(`/api/v1/runs${query({ kind: 'deploy', team, target, limit })}`);
  return page.runs;
}

/** The run whose outcome says what is live now: the newest ended run that recorded what it left live. */
export const liveRun = (runs: RunView[]) => runs.find((r) => isTerminal(r.status) && (r.summary as Partial<DeploySummary> | null)?.live);

export const imagesText = (m: Record<string, string> | undefined) => [...new Set(Object.values(m ?? {}))].join(', ') || '—';

export const historyHref = (team: string, target: string) => `/deploys${query({ team, target })}`;
