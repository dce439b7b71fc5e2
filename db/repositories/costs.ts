import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { CostTotals, FindingType, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import { CostFindingSchema, CostReportSchema, IntegrationSchema, TeamSchema, type CostFinding, type CostReport } from '../entities/index.ts';

export type ScanRecord = { teamId: string; integrationId: string; runId: string; at: Date; regions: string[]; observed: ObservedFinding[]; totals: CostTotals };
export type ScanOutcome = { open: CostFinding[]; opened: CostFinding[]; resolved: CostFinding[] };

const keyOf = (f: { type: string; resourceId: string }) => `${f.type}:${f.resourceId}`;

/**
 * Counts one scan into the account's findings, once per run: a finding seen again moves its last-seen,
 * a new one opens, an open one in a scanned region the scan did not see resolves with its saving
 * realised. A retried activity finds its report row and changes nothing (the outcome is read back).
 */
export async function recordCostScan(em: EntityManager, r: ScanRecord): Promise<ScanOutcome> {
  return em.fork().transactional(async (tx) => {
    const integration = tx.getReference(IntegrationSchema, r.integrationId);
    // Serialises scans of one account (the kind's target already keeps them apart; this makes it certain).
    await tx.findOneOrFail(IntegrationSchema, { id: r.integrationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (await tx.count(CostReportSchema, { runId: r.runId })) {
      const [open, opened, resolved] = await Promise.all([
        tx.find(CostFindingSchema, { integration, status: 'open' }),
        tx.find(CostFindingSchema, { integration, firstRunId: r.runId }),
        tx.find(CostFindingSchema, { integration, resolvedRunId: r.runId }),
      ]);
      return { open, opened, resolved };
    }
    const existing = new Map((await tx.find(CostFindingSchema, { integration, status: 'open' })).map((f) => [keyOf(f), f]));
    const opened: CostFinding[] = [];
    const open: CostFinding[] = [];
    for (const o of r.observed) {
      const seen = existing.get(keyOf(o));
      if (seen) {
        Object.assign(seen, { lastSeenAt: r.at, lastRunId: r.runId, detail: o.detail, monthlySavings: o.monthlySavings, owner: o.team, region: o.region });
        existing.delete(keyOf(o));
        open.push(seen);
        continue;
      }
      const f = tx.create(CostFindingSchema, {
        id: crypto.randomUUID(), team: tx.getReference(TeamSchema, r.teamId), integration, type: o.type, region: o.region, resourceId: o.resourceId, owner: o.team,
        detail: o.detail, monthlySavings: o.monthlySavings, status: 'open', firstSeenAt: r.at, lastSeenAt: r.at, firstRunId: r.runId, lastRunId: r.runId,
        resolvedAt: null, resolvedRunId: null, actionRunId: null, realisedMonthlySavings: null,
      });
      opened.push(f);
      open.push(f);
    }
    const resolved: CostFinding[] = [];
    for (const gone of existing.values()) {
      if (!r.regions.includes(gone.region)) {
        open.push(gone);
        continue;
      }
      Object.assign(gone, { status: 'resolved', resolvedAt: r.at, resolvedRunId: r.runId, realisedMonthlySavings: gone.monthlySavings });
      resolved.push(gone);
    }
    tx.create(CostReportSchema, {
      team: tx.getReference(TeamSchema, r.teamId), integration, runId: r.runId, at: r.at, totals: r.totals,
      openFindings: open.length, estimatedMonthlySavings: Math.round(open.reduce((s, f) => s + f.monthlySavings, 0) * 100) / 100,
    });
    return { open, opened, resolved };
  });
}

export type FindingFilter = {
  /** undefined: every team (a platform admin). */
  teamIds: string[] | undefined;
  integration?: string;
  status?: 'open' | 'resolved';
  type?: FindingType;
  after?: { at: Date; id: string };
  limit: number;
};

/** Cursor = "<firstSeenAt in ms>.<id>" of the last row of the previous page; newest first (as runs). */
export const encodeFindingCursor = (f: Pick<CostFinding, 'firstSeenAt' | 'id'>) => `${f.firstSeenAt.getTime()}.${f.id}`;
export function decodeFindingCursor(cursor: string): { at: Date; id: string } | null {
  const m = /^(\d{1,13})\.([0-9a-f-]{36})$/.exec(cursor);
  return m ? { at: new Date(Number(m[1])), id: m[2]! } : null;
}

export async function listFindings(em: EntityManager, q: FindingFilter): Promise<{ rows: CostFinding[]; nextCursor: string | null }> {
  if (q.teamIds?.length === 0) return { rows: [], nextCursor: null };
  const and: Record<string, unknown>[] = q.teamIds ? [{ team: { $in: q.teamIds } }] : [];
  if (q.integration) and.push({ integration: q.integration });
  if (q.status) and.push({ status: q.status });
  if (q.type) and.push({ type: q.type });
  if (q.after) and.push({ $or: [{ firstSeenAt: { $lt: q.after.at } }, { firstSeenAt: q.after.at, id: { $lt: q.after.id } }] });
  const rows = await em.find(CostFindingSchema, { $and: and }, { populate: ['team', 'integration'], orderBy: { firstSeenAt: 'desc', id: 'desc' }, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { rows: page, nextCursor: rows.length > q.limit ? encodeFindingCursor(page[page.length - 1]!) : null };
}

/** The reports of the teams' accounts since `since`, oldest first (the trends), and each account's latest. */
export async function costReports(em: EntityManager, teamIds: string[] | undefined, since: Date, integration?: string): Promise<CostReport[]> {
  if (teamIds?.length === 0) return [];
  return em.find(CostReportSchema, { ...(teamIds ? { team: { $in: teamIds } } : {}), at: { $gte: since }, ...(integration ? { integration } : {}) }, { populate: ['team', 'integration'], orderBy: { at: 'asc', id: 'asc' } });
}

/**
 * Marks the finding the action run fixes; the next scan that no longer sees the resource resolves it.
 * Only a finding of the run's team, account and resource is marked (false otherwise): a run naming
 * another resource's finding would show that finding fixed by an action on something else.
 */
export async function linkFindingAction(em: EntityManager, link: { findingId: string; teamId: string; integrationId: string; resourceId: string; runId: string }): Promise<boolean> {
  const where = { id: link.findingId, team: link.teamId, integration: link.integrationId, resourceId: link.resourceId };
  return (await em.fork().nativeUpdate(CostFindingSchema, where, { actionRunId: link.runId })) > 0;
}

export async function findingOf(em: EntityManager, id: string): Promise<CostFinding | null> {
  return em.findOne(CostFindingSchema, { id }, { populate: ['team', 'integration'] });
}
