import Router from '@koa/router';
import { costsQuerySchema, findingPathSchema, findingsQuerySchema, type CostOverview, type FindingView } from '../../contracts/costs.ts';
import type { CostActionType } from '../../contracts/kinds/cost-action.ts';
import type { FindingType } from '../../contracts/kinds/cost-scan.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { assertCan, visibleTeamIds } from '../../core/access.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { RunSchema, TeamSchema, type CostFinding, type CostReport } from '../../db/entities/index.ts';
import { costReports, decodeFindingCursor, findingOf, linkFindingAction, listFindings } from '../../db/repositories/costs.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { startRun } from '../services/runs.ts';

const DAY_MS = 86_400_000;
/** The action that fixes each type of finding; an old snapshot may be someone's only backup, so a person decides. */
const FIX: Record<FindingType, CostActionType | null> = { 'idle-instance': 'stop-instance', 'unattached-volume': 'delete-volume', 'unused-address': 'release-address', 'old-snapshot': null };

const ref = (x: unknown) => x as { id: string; slug: string; name: string };
const round = (n: number) => Math.round(n * 100) / 100;

async function teamsToRead(ctx: AppContext, team?: string): Promise<string[] | undefined> {
  const visible = visibleTeamIds(ctx.state.principal);
  if (!team) return visible;
  const row = await ctx.state.em.findOne(TeamSchema, { slug: team });
  return row && (!visible || visible.includes(row.id)) ? [row.id] : [];
}

/** An action run that may still change the resource, or did: a second fix would only duplicate it. */
const actionStands = (status: RunStatus | null) => status !== null && !['failed', 'discarded', 'cancelled', 'timed_out'].includes(status);

/** The status of each finding's action run, in one query. */
async function actionStatuses(em: AppContext['state']['em'], findings: CostFinding[]): Promise<Map<string, RunStatus>> {
  const ids = [...new Set(findings.map((f) => f.actionRunId).filter((id): id is string => !!id))];
  if (ids.length === 0) return new Map();
  const runs = await em.find(RunSchema, { id: { $in: ids } }, { fields: ['id', 'status'] });
  return new Map(runs.map((r) => [r.id, r.status as RunStatus]));
}

function toFindingView(f: CostFinding, actionRunStatus: RunStatus | null): FindingView {
  const account = ref(f.integration);
  return {
    id: f.id, team: ref(f.team).slug, account: { id: account.id, name: account.name }, type: f.type, region: f.region, resourceId: f.resourceId, owner: f.owner ?? null,
    detail: f.detail, monthlySavings: f.monthlySavings, status: f.status, firstSeenAt: f.firstSeenAt.toISOString(), lastSeenAt: f.lastSeenAt.toISOString(),
    resolvedAt: f.resolvedAt?.toISOString() ?? null, actionRunId: f.actionRunId ?? null, actionRunStatus,
    realisedMonthlySavings: f.realisedMonthlySavings ?? null, fixable: FIX[f.type] !== null && f.status === 'open' && !actionStands(actionRunStatus),
  };
}

/** Totals of each account's latest scan, summed across accounts, and every scan of the window as a series. */
function overview(reports: CostReport[]): CostOverview {
  const latest = new Map<string, CostReport>();
  for (const r of reports) latest.set(ref(r.integration).id, r);
  const trends: CostOverview['trends'] = { byDay: {}, byService: {}, byTeam: {}, byAccount: {}, scans: [] };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = round((into[k] ?? 0) + v);
  };
  for (const r of latest.values()) {
    add(trends.byDay, r.totals.byDay);
    add(trends.byService, r.totals.byService);
    add(trends.byTeam, r.totals.byTeam);
    add(trends.byAccount, { [ref(r.integration).name]: r.totals.monthToDate });
  }
  trends.scans = reports.map((r) => ({ at: r.at.toISOString(), account: ref(r.integration).name, accountId: ref(r.integration).id, monthToDate: r.totals.monthToDate, forecast: r.totals.forecast, estimatedMonthlySavings: r.estimatedMonthlySavings }));
  return {
    latest: [...latest.values()].map((r) => ({ team: ref(r.team).slug, account: { id: ref(r.integration).id, name: ref(r.integration).name }, at: r.at.toISOString(), runId: r.runId, totals: r.totals, openFindings: r.openFindings, estimatedMonthlySavings: r.estimatedMonthlySavings })),
    trends,
  };
}

/** What the cost scans found (runs:read), and "fix": a finding's cost-action run (runs:start:cost-action, then the approval gate). */
export function costRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/costs', async (ctx) => {
    const q = costsQuerySchema.parse(ctx.query);
    ctx.body = overview(await costReports(ctx.state.em, await teamsToRead(ctx, q.team), new Date(Date.now() - q.days * DAY_MS), q.integration));
  });

  router.get('/costs/findings', async (ctx) => {
    const q = findingsQuerySchema.parse(ctx.query);
    const after = q.cursor ? decodeFindingCursor(q.cursor) ?? undefined : undefined;
    const { rows, nextCursor } = await listFindings(ctx.state.em, { ...q, teamIds: await teamsToRead(ctx, q.team), ...(after ? { after } : {}) });
    const statuses = await actionStatuses(ctx.state.em, rows);
    ctx.body = { items: rows.map((f) => toFindingView(f, f.actionRunId ? statuses.get(f.actionRunId) ?? null : null)), nextCursor };
  });

  router.post('/costs/findings/:id/fix', async (ctx) => {
    const { id } = findingPathSchema.parse(ctx.params);
    const f = await findingOf(ctx.state.em, id);
    if (!f) throw new NotFoundError('finding not found');
    assertCan(ctx.state.principal, ref(f.team).id, 'runs:start:cost-action', 'finding');
    const action = FIX[f.type];
    if (!action) throw new ConflictError(`a ${f.type} finding has no automatic fix: delete the snapshot yourself once nobody needs it`);
    if (f.status !== 'open') throw new ConflictError('the finding is resolved already');
    const params = { integration: ref(f.integration).id, region: f.region, action, resourceId: f.resourceId, finding: f.id };
    const run = await startRun(deps, ctx.state.em, { principal: ctx.state.principal, ip: ctx.ip }, { kind: 'cost-action', team: ref(f.team).slug, params });
    // Linked now, not when the action runs: while the run waits for an approver the finding shows it and offers no second fix.
    await linkFindingAction(ctx.state.em, { findingId: f.id, teamId: ref(f.team).id, integrationId: params.integration, resourceId: f.resourceId, runId: run.id });
    ctx.status = 201;
    ctx.body = run;
    ctx.set('Location', `/api/v1/runs/${run.id}`);
  });

  return router;
}
