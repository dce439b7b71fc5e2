import type { EntityManager } from '@mikro-orm/postgresql';
import type { AnsibleRecap } from '../../contracts/kinds/ansible.ts';

/**
 * The recap an ansible-playbook launch printed (stored with its output as `data.ansible.hosts`), or
 * null when it ended before its recap. Read from the event store, so any worker on any host can judge
 * a launch that another attempt followed to its end.
 */
export async function storedRecap(em: EntityManager, runId: string, procId: string): Promise<AnsibleRecap | null> {
  const rows = await em.getConnection().execute<{ hosts: AnsibleRecap }[]>(
    `select data->'ansible'->'hosts' as hosts from run_events
      where run_id = ? and data->>'proc' = ? and data->'ansible'->>'event' = 'recap' order by seq desc limit 1`,
    [runId, procId],
  );
  return rows[0]?.hosts ?? null;
}

/** Per host, the last task a launch reported a result for: what an interrupted play had reached. */
export async function lastTasksByHost(em: EntityManager, runId: string, procId: string): Promise<Record<string, string>> {
  const rows = await em.getConnection().execute<{ host: string; task: string }[]>(
    `select distinct on (data->'ansible'->>'host') data->'ansible'->>'host' as host, data->'ansible'->>'task' as task from run_events
      where run_id = ? and data->>'proc' = ? and data->'ansible'->>'event' = 'host'
      order by data->'ansible'->>'host', seq desc`,
    [runId, procId],
  );
  return Object.fromEntries(rows.map((r) => [r.host, r.task]));
}
