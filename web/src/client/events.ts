import type { RunEvent } from '../../../contracts/events.ts';
import { get, query } from './http.ts';

type Page = { events: RunEvent[]; next: number | null };
const PAGE = 5000;

/** Stored events of a run with after < seq < before (all after `after` when before is omitted). */
export async function fetchEvents(runId: string, after: number, before = Number.POSITIVE_INFINITY): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await get<Page>(`/api/v1/runs/${runId}/events${query({ after: cursor, limit: PAGE })}`);
    for (const e of page.events) if (e.seq < before) out.push(e);
    const last = page.events[page.events.length - 1];
    if (page.next === null || !last || last.seq >= before - 1) return out;
    cursor = page.next;
  }
}
