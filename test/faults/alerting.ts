import { initOrm } from '../../db/orm.ts';
import { createUser } from '../fixtures/users.ts';
import type { FaultStack } from './stack.ts';

/**
 * What a fault test needs to fire an alert through the real API: `create` (as a team admin; answers
 * the new id) for channels and policies, and `fire`, which makes an alert source on `policy` and sends
 * it one firing alert (answers the alert's id).
 */
export async function alerting(s: FaultStack) {
  const orm = await initOrm(s.env.DATABASE_URL!, { poolMax: 1 });
  const admin = await createUser(orm.em, { teams: [s.team], role: 'admin' });
  await orm.close();
  const token = (await s.call('POST', '/api/v1/auth/login', undefined, { email: admin.email, password: admin.password })).body.accessToken as string;
  const create = async (path: string, body: unknown) => {
    const res = await s.call('POST', path, token, body);
    if (res.status !== 201) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const fire = async (policy: string, alert: { dedupKey: string; summary: string }) => {
    const sourceToken = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    const source = await create('/api/v1/integrations', { team: s.team.slug, type: 'alert-source', name: `source-${alert.dedupKey}`, settings: { policy }, secrets: { token: sourceToken } });
    const res = await fetch(`${s.wsUrl.replace('ws://', 'http://').replace(/\/ws$/, '')}/api/v1/alerts?source=${source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sourceToken}` },
      body: JSON.stringify(alert),
    });
    if (res.status !== 202) throw new Error(`the alert source answered ${res.status}`);
    return ((await res.json()) as { alerts: Array<{ id: string }> }).alerts[0]!.id;
  };
  return { create, fire };
}
