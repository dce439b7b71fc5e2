import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { AlertAnnouncement } from '../../contracts/alerts/index.ts';
import { AlertSchema, type Alert } from '../../db/entities/index.ts';
import type { Logger } from '../logger.ts';
import type { RedisKeys } from '../redis.ts';
import { toAlertView } from './views.ts';

export type AlertAnnouncer = { redis: Redis; keys: RedisKeys; logger: Logger };

/**
 * Tells every API instance (and through /ws, every browser that may see the team) that an alert
 * changed. Called after the change is committed; the rows are the record, so a failed publish is
 * logged and the live view catches up on its next read.
 */
export function announceAlert(deps: AlertAnnouncer, a: Omit<AlertAnnouncement, 'alert'> & { alert: Alert }): Promise<void> {
  return publishAlert(deps, { ...a, alert: toAlertView(a.alert) });
}

/** The same for an alert already in its API shape. */
export async function publishAlert(deps: AlertAnnouncer, a: AlertAnnouncement): Promise<void> {
  try {
    await deps.redis.publish(deps.keys.alertsChannel, JSON.stringify({ op: 'alert', ...a }));
  } catch (err) {
    deps.logger.warn({ err, alertId: a.alert.id }, 'announcing an alert change failed');
  }
}

/** The alert as committed, with what its announcement shows (team slug, source name). */
export function alertForAnnouncement(em: EntityManager, id: string): Promise<Alert | null> {
  return em.fork().findOne(AlertSchema, { id }, { populate: ['team', 'source'] });
}
