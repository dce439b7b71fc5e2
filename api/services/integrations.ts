import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import {
  integrationSchema,
  integrationTypeOf,
  type createIntegrationRequestSchema,
  type IntegrationView,
  type updateIntegrationRequestSchema,
} from '../../contracts/integrations/index.ts';
import { assertCan, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { checkKeyMaterial } from '../../core/integrations/material.ts';
import { openIntegrationSecrets, sealIntegrationSecrets } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { EscalationPolicySchema, TeamSchema, type Integration } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { activeRunsUsing, createIntegrationRow, findIntegration, lockIntegration, toIntegrationView } from '../../db/repositories/integrations.ts';
import { inputErrorFrom } from '../middleware/errors.ts';

type Caller = { principal: Principal; ip: string };
const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/**
 * Settings and secrets checked by the type's schema, then the key material itself (parsed, decrypted
 * with its passphrase, host keys read). Every message names its field; none quotes a value.
 */
function validate(type: string, settings: unknown, secrets: unknown) {
  const def = integrationTypeOf(type);
  if (!def) throw new InputError('unknown integration type', [{ field: 'type', message: 'not an integration type' }]);
  const parsed = integrationSchema(def).safeParse({ settings, secrets });
  if (!parsed.success) throw inputErrorFrom(parsed.error);
  const value = parsed.data as { settings: Record<string, unknown>; secrets: Record<string, unknown> };
  const { issues, metadata } = checkKeyMaterial(value.settings, value.secrets);
  if (issues.length) throw new InputError('request validation failed', issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
  return { ...value, metadata };
}

/**
 * A settings change that moves where the stored secrets are sent (integrationTypeOf(type).addresses)
 * must give the secrets again: otherwise anyone who may edit the integration, but never read its
 * secrets, could have the platform send them to an address of their own.
 */
function refuseMovedSecrets(type: string, before: Record<string, unknown>, after: Record<string, unknown>): void {
  const moved = (integrationTypeOf(type)?.addresses ?? []).filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
  if (moved.length === 0) return;
  throw new InputError(
    'changing where the secrets are sent needs the secrets again',
    moved.map((k) => ({ field: 'secrets', message: `settings.${k} changed: give the secrets with it, or they would go to the new address unchecked` })),
  );
}

/**
 * What settings name inside the platform must be the team's own: an alert source's escalation policy
 * of another team (or none) would open every alert with nobody paged, and no error anywhere.
 */
async function checkReferences(em: EntityManager, teamId: string, type: string, settings: Record<string, unknown>): Promise<void> {
  if (type !== 'alert-source' || typeof settings.policy !== 'string') return;
  const policy = await em.findOne(EscalationPolicySchema, { id: settings.policy, team: teamId }, { fields: ['id'] });
  if (!policy) throw new InputError('the policy is not an escalation policy of this team', [{ field: 'settings.policy', message: "not one of the team's escalation policies" }]);
}

/** Flushes; a second integration of the same name in the team is a 409 naming the field. */
async function flushNamed(em: EntityManager, name: string): Promise<void> {
  try {
    await em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw new ConflictError(`the team already has an integration named "${name}"`, { errors: [{ field: 'name', message: 'already taken' }] });
    }
    throw err;
  }
}

/** An integration the caller may see (404 otherwise) and, for `integrations:manage`, change (403). */
export async function integrationFor(em: EntityManager, principal: Principal, id: string, permission: 'runs:read' | 'integrations:manage'): Promise<Integration> {
  const row = /^[0-9a-f-]{36}$/i.test(id) ? await findIntegration(em, id) : null;
  if (!row) throw new NotFoundError('integration not found');
  assertCan(principal, row.team.id, permission, 'integration');
  return row;
}

export async function createIntegration(
  keyring: Keyring,
  em: EntityManager,
  caller: Caller,
  body: z.infer<typeof createIntegrationRequestSchema>,
): Promise<IntegrationView> {
  const team = await em.findOne(TeamSchema, { slug: body.team });
  if (!team) throw new NotFoundError('team not found');
  assertCan(caller.principal, team.id, 'integrations:manage', 'team');
  const { settings, secrets, metadata } = validate(body.type, body.settings, body.secrets);
  await checkReferences(em, team.id, body.type, settings);
  const id = crypto.randomUUID();
  const sealed = await sealIntegrationSecrets(keyring, id, secrets);
  const row = createIntegrationRow(em, { id, teamId: team.id, type: body.type, name: body.name, settings, ...sealed, ...metadata });
  recordAudit(em, {
    actor: actor(caller),
    action: 'integration.create',
    resourceType: 'integration',
    resourceId: id,
    teamId: team.id,
    ip: caller.ip,
    data: { type: body.type, name: body.name, secretFields: sealed.secretFields, fingerprint: metadata.fingerprint },
  });
  await flushNamed(em, body.name);
  await em.populate(row, ['team']);
  return toIntegrationView(row);
}

/**
 * Changes name, settings and/or secrets. Given secrets replace the stored ones; without them the
 * stored secrets are opened only to check the new settings still fit them (an ssh URL needs a key).
 */
export async function updateIntegration(
  keyring: Keyring,
  em: EntityManager,
  caller: Caller,
  id: string,
  body: z.infer<typeof updateIntegrationRequestSchema>,
): Promise<IntegrationView> {
  await integrationFor(em, caller.principal, id, 'integrations:manage');
  const view = await em.transactional(async (tx) => {
    const row = await lockIntegration(tx, id);
    if (!row) throw new NotFoundError('integration not found');
    const changed = Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined);
    if (body.settings || body.secrets) {
      const secrets = body.secrets ?? (await openIntegrationSecrets(keyring, row.id, row.secret));
      const valid = validate(row.type, body.settings ?? row.settings, secrets);
      if (!body.secrets) refuseMovedSecrets(row.type, row.settings, valid.settings);
      await checkReferences(tx, (row.team as unknown as { id: string }).id, row.type, valid.settings);
      row.settings = valid.settings;
      if (body.secrets) Object.assign(row, await sealIntegrationSecrets(keyring, row.id, valid.secrets), valid.metadata);
    }
    if (body.name !== undefined) row.name = body.name;
    recordAudit(tx, {
      actor: actor(caller),
      action: 'integration.update',
      resourceType: 'integration',
      resourceId: row.id,
      teamId: row.team.id,
      ip: caller.ip,
      data: { type: row.type, name: row.name, changed, secretFields: row.secretFields, fingerprint: row.fingerprint ?? null },
    });
    await flushNamed(tx, row.name);
    return toIntegrationView(row);
  });
  return view;
}

/** Deletes an integration no active run uses (409 naming the runs otherwise), audited in the same transaction. */
export async function deleteIntegration(em: EntityManager, caller: Caller, id: string): Promise<void> {
  await integrationFor(em, caller.principal, id, 'integrations:manage');
  await em.transactional(async (tx) => {
    // Locked first: a run start recording this integration waits for us, or we wait for it and see its run.
    const row = await lockIntegration(tx, id);
    if (!row) throw new NotFoundError('integration not found');
    const activeRunIds = await activeRunsUsing(tx, row.id);
    if (activeRunIds.length) throw new ConflictError(`integration "${row.name}" is used by ${activeRunIds.length} active run(s); wait for them to end or cancel them`, { activeRunIds });
    tx.remove(row);
    recordAudit(tx, {
      actor: actor(caller),
      action: 'integration.delete',
      resourceType: 'integration',
      resourceId: row.id,
      teamId: row.team.id,
      ip: caller.ip,
      data: { type: row.type, name: row.name, fingerprint: row.fingerprint ?? null },
    });
  });
}
