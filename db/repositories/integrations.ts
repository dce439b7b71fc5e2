import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { IntegrationType, IntegrationView } from '../../contracts/integrations/index.ts';
import { TERMINAL_STATUSES } from '../../contracts/runs.ts';
import { IntegrationSchema, TeamSchema, type Integration } from '../entities/index.ts';

export function toIntegrationView(row: Integration): IntegrationView {
  const team = row.team as unknown as { slug: string };
  return {
    id: row.id,
    team: team.slug,
    type: row.type as IntegrationType,
    name: row.name,
    settings: row.settings,
    secretFields: row.secretFields,
    fingerprint: row.fingerprint ?? null,
    publicKey: row.publicKey ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export type SealedFields = { secret: string; keyId: string; secretFields: string[]; fingerprint: string | null; publicKey: string | null };

/** Queues the insert; the caller flushes (with its audit row). `id` is chosen first: the envelope is bound to it. */
export function createIntegrationRow(
  em: EntityManager,
  input: { id: string; teamId: string; type: string; name: string; settings: Record<string, unknown> } & SealedFields,
): Integration {
  const { teamId, ...rest } = input;
  return em.create(IntegrationSchema, { ...rest, team: em.getReference(TeamSchema, teamId) });
}

export async function findIntegration(em: EntityManager, id: string): Promise<Integration | null> {
  return em.findOne(IntegrationSchema, { id }, { populate: ['team'] });
}

/** The row with its sealed secret, row-locked until the transaction `em` runs in ends. */
export async function lockIntegration(em: EntityManager, id: string): Promise<(Integration & { secret: string }) | null> {
  const row = await em.findOne(IntegrationSchema, { id }, { populate: ['team', 'secret'], lockMode: LockMode.PESSIMISTIC_WRITE });
  return row as (Integration & { secret: string }) | null;
}

/** The row with its sealed secret, only if it belongs to `teamId`. */
export async function findIntegrationWithSecret(em: EntityManager, teamId: string, id: string): Promise<(Integration & { secret: string }) | null> {
  const row = await em.findOne(IntegrationSchema, { id, team: teamId }, { populate: ['team', 'secret'] });
  return row as (Integration & { secret: string }) | null;
}

/**
 * Cursor = `<base64url(name)>.<id>` of the last row of the previous page (ordered by name, then id):
 * a shape the published schema states exactly, so any text it allows is a position to resume from.
 */
export const INTEGRATION_CURSOR = /^([A-Za-z0-9_-]*)\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
export const encodeIntegrationCursor = (row: Pick<Integration, 'name' | 'id'>): string => `${Buffer.from(row.name).toString('base64url')}.${row.id}`;

export function decodeIntegrationCursor(cursor: string): { name: string; id: string } | null {
  const m = INTEGRATION_CURSOR.exec(cursor);
  return m ? { name: Buffer.from(m[1]!, 'base64url').toString('utf8'), id: m[2]! } : null;
}

export async function listIntegrations(
  em: EntityManager,
  query: { teamIds: string[] | undefined; type?: string; limit: number; after?: { name: string; id: string } },
): Promise<{ rows: Integration[]; nextCursor: string | null }> {
  if (query.teamIds?.length === 0) return { rows: [], nextCursor: null };
  const where: Record<string, unknown> = {};
  if (query.teamIds) where.team = { $in: query.teamIds };
  if (query.type) where.type = query.type;
  if (query.after) where.$or = [{ name: { $gt: query.after.name } }, { name: query.after.name, id: { $gt: query.after.id } }];
  const rows = await em.find(IntegrationSchema, where, { populate: ['team'], orderBy: { name: 'asc', id: 'asc' }, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: rows.length > query.limit && last ? encodeIntegrationCursor(last) : null };
}

/** Ids of the runs not yet ended that use the integration. */
export async function activeRunsUsing(em: EntityManager, integrationId: string): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>(
    `select r.id from run_integrations ri join runs r on r.id = ri.run_id where ri.integration_id = ? and r.status not in (${TERMINAL_STATUSES.map(() => '?').join(', ')}) order by r.created_at`,
    [integrationId, ...TERMINAL_STATUSES],
  );
  return rows.map((r) => r.id);
}

/** Thrown by recordRunIntegrations for ids that are not integrations of the run's team. */
export class UnknownIntegrationError extends Error {
  readonly ids: string[];
  constructor(ids: string[]) {
    super(`not integrations of the run's team: ${ids.join(', ')}`);
    this.name = 'UnknownIntegrationError';
    this.ids = ids;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Of these ids, those that are not integrations of the team (another team's, or none at all). */
export async function foreignIntegrations(em: EntityManager, teamId: string, integrationIds: readonly string[]): Promise<string[]> {
  const ids = [...new Set(integrationIds)];
  const valid = ids.filter((id) => UUID.test(id));
  const found = valid.length
    ? await em.execute<{ id: string }[]>(`select id from integrations where team_id = ? and id in (${valid.map(() => '?').join(', ')})`, [teamId, ...valid])
    : [];
  const have = new Set(found.map((r) => r.id));
  return ids.filter((id) => !have.has(id));
}

/** The non-secret settings of the team's integrations among `ids`, by id (ids of other teams or none are left out). */
export async function integrationSettings(em: EntityManager, teamId: string, ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const valid = ids.filter((id) => UUID.test(id));
  if (valid.length === 0) return new Map();
  const rows = await em.execute<{ id: string; settings: Record<string, unknown> }[]>(
    `select id, settings from integrations where team_id = ? and id in (${valid.map(() => '?').join(', ')})`,
    [teamId, ...valid],
  );
  return new Map(rows.map((r) => [r.id, r.settings]));
}

/**
 * Records that the run uses these integrations (call it in the run-start transaction, after the run
 * row is inserted). Every id must be an integration of the run's team, or nothing is recorded and
 * UnknownIntegrationError names the others. FOR KEY SHARE on the integration rows: a concurrent
 * delete (which locks its row FOR UPDATE) either waits for this transaction and then sees the run,
 * or has already removed the row and this fails. Repeating a call is harmless.
 */
export async function recordRunIntegrations(em: EntityManager, runId: string, integrationIds: readonly string[]): Promise<void> {
  const ids = [...new Set(integrationIds)];
  if (ids.length === 0) return;
  const valid = ids.filter((id) => UUID.test(id));
  const found = valid.length
    ? await em.execute<{ id: string }[]>(
        `select i.id from integrations i join runs r on r.team_id = i.team_id where r.id = ? and i.id in (${valid.map(() => '?').join(', ')}) for key share of i`,
        [runId, ...valid],
      )
    : [];
  const have = new Set(found.map((r) => r.id));
  const missing = ids.filter((id) => !have.has(id));
  if (missing.length) throw new UnknownIntegrationError(missing);
  await em.execute(
    `insert into run_integrations (run_id, integration_id) values ${ids.map(() => '(?, ?)').join(', ')} on conflict do nothing`,
    ids.flatMap((id) => [runId, id]),
  );
}

export type SealedRow = { id: string; secret: string; keyId: string };

/**
 * The next rows (by id, after `afterId`) whose secret is not sealed under `keyId`, locked until the
 * transaction `em` runs in ends. A row an API request changes meanwhile is waited for, and skipped
 * if that change already sealed it under `keyId`.
 */
export async function lockRowsNotUnderKey(em: EntityManager, keyId: string, afterId: string, limit: number): Promise<SealedRow[]> {
  const rows = await em.execute<{ id: string; secret: string; key_id: string }[]>(
    'select id, secret, key_id from integrations where key_id <> ? and id > ? order by id limit ? for update',
    [keyId, afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, secret: r.secret, keyId: r.key_id }));
}

export async function updateSealedSecret(em: EntityManager, id: string, secret: string, keyId: string): Promise<void> {
  await em.execute('update integrations set secret = ?, key_id = ? where id = ?', [secret, keyId, id]);
}

/** How many rows are sealed under each key id. */
export async function countByKeyId(em: EntityManager): Promise<Record<string, number>> {
  const rows = await em.execute<{ key_id: string; n: string }[]>('select key_id, count(*) as n from integrations group by key_id');
  return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
}
