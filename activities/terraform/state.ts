import { createHash, createHmac } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../core/logger.ts';

export type StateVersion = { serial: number; lineage: string } | null;

/** Where a team's workspace keeps its state, and the credentials that reach that and nothing else. */
export type WorkspaceState = {
  schema: string;
  /** For terraform's pg backend (PG_CONN_STR): the team's own role. */
  connStr: string;
  /** Strings to redact from every line terraform prints. */
  secrets: string[];
};

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const teamTag = (teamId: string) => createHash('sha256').update(teamId).digest('hex').slice(0, 10);
/** One role per team: it owns that team's state schemas and can reach no other team's, nor the OpsSight database. */
export const teamRole = (teamId: string) => `opssight_tf_${teamId.replace(/-/g, '')}`;
/** `tfs_<team tag>_<workspace>`: 63 characters at most (PostgreSQL's identifier limit) for a 48-character workspace. */
export const stateSchema = (teamId: string, workspace: string) => `tfs_${teamTag(teamId)}_${workspace}`;

/**
 * What a workspace holds before its first apply. Terraform's pg backend locks a workspace whose row
 * does not exist yet with one advisory lock for the whole database (-1, "locked for workspace
 * creation"), held for that whole first plan or apply, and every other workspace's lock attempt takes
 * -1 too: one team's first apply would stall or fail every other team's runs. With the row written
 * here, Terraform only ever locks the row's id (unique across schemas: one sequence), so workspaces
 * never wait on each other. Serial 0: Terraform's first write is serial 1, with this lineage.
 */
export const emptyState = () =>
  JSON.stringify({ version: 4, terraform_version: '1.0.0', serial: 0, lineage: crypto.randomUUID(), outputs: {}, resources: [], check_results: null });

/** SQL: the `states` row `table` holds is still emptyState() (Terraform never wrote it). */
export const isEmptyState = (table: string) =>
  `(${table}.data::jsonb->>'serial' = '0' and coalesce(jsonb_array_length(${table}.data::jsonb->'resources'), 0) = 0)`;

/**
 * Terraform's pg backend (lib/pq) requires TLS unless told otherwise, while node-postgres, which the
 * rest of OpsSight uses, does not: a URL that says nothing about sslmode means the same to both.
 */
function withSslmode(u: URL): URL {
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u;
}

/** Server-side TCP keepalive of every state session: idle seconds, then probes every interval, `count` times. */
export const STATE_SESSION_KEEPALIVES = { tcp_keepalives_idle: 30, tcp_keepalives_interval: 10, tcp_keepalives_count: 3 } as const;

/**
 * The Terraform state database as the worker sees it: an administrative connection that creates each
 * team's role and schemas, reads state versions and waits on state locks. Terraform itself never gets
 * this connection, only its team's role.
 */
export function createStateStore(opts: { adminUrl: string; roleKey: string; logger: Logger }) {
  const pool = new pg.Pool({ connectionString: opts.adminUrl, max: 4 });
  // An idle connection the server closes (a restart, a failover) must not crash the worker: the next query reconnects.
  pool.on('error', (err) => opts.logger.warn({ err: err.message }, 'state database connection lost'));
  const provisioned = new Set<string>();

  const password = (role: string) => createHmac('sha256', opts.roleKey).update(role).digest('base64url');

  /** Creates (once per process) the team's role and the workspace's schema, table and grants. Idempotent. */
  async function forWorkspace(teamId: string, workspace: string): Promise<WorkspaceState> {
    const role = teamRole(teamId);
    const schema = stateSchema(teamId, workspace);
    const secret = password(role);
    if (!provisioned.has(schema)) {
      const client = await pool.connect();
      try {
        // Serialised across workers and teams: CREATE ... IF NOT EXISTS still races on the catalog, and
        // every team's grant on the one shared sequence rewrites the same catalog row (two teams' first
        // workspaces at once failed with a duplicate key). Once per workspace and process, so the one
        // lock costs nothing; it ends with the transaction.
        await client.query('begin');
        await client.query('select pg_advisory_xact_lock(hashtext($1))', ['opssight-state-provision']);
        const exists = await client.query('select 1 from pg_roles where rolname = $1', [role]);
        // The password is derived, not stored: re-setting it each time follows a change of the key.
        const pw = `'${secret.replace(/'/g, "''")}'`;
        await client.query(exists.rowCount ? `alter role ${quote(role)} with login password ${pw}` : `create role ${quote(role)} with login password ${pw}`);
        // terraform holds a workspace's lock on its session for the whole apply. A host that dies without
        // closing its connection (power lost, network gone) would keep that lock until the server's TCP
        // keepalive gives up, two hours by the operating system's default: with these, about a minute.
        for (const [name, value] of Object.entries(STATE_SESSION_KEEPALIVES)) await client.query(`alter role ${quote(role)} set ${name} = ${value}`);
        // A non-superuser administrator needs membership to hand the schema and table to the role.
        await client.query('savepoint grant_self');
        await client.query(`grant ${quote(role)} to current_user`).catch(() => client.query('rollback to savepoint grant_self'));
        await client.query('create sequence if not exists public.global_states_id_seq as bigint');
        await client.query(`grant usage on sequence public.global_states_id_seq to ${quote(role)}`);
        await client.query(`create schema if not exists ${quote(schema)} authorization ${quote(role)}`);
        await client.query(
          `create table if not exists ${quote(schema)}.states (id bigint not null default nextval('public.global_states_id_seq') primary key, name text unique, data text)`,
        );
        await client.query(`create unique index if not exists states_by_name on ${quote(schema)}.states (name)`);
        await client.query(`alter table ${quote(schema)}.states owner to ${quote(role)}`);
        await client.query(`insert into ${quote(schema)}.states (name, data) values ('default', $1) on conflict (name) do nothing`, [emptyState()]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      provisioned.add(schema);
    }
    const url = withSslmode(new URL(opts.adminUrl));
    url.username = role;
    url.password = secret;
    return { schema, connStr: url.toString(), secrets: [url.toString(), secret, encodeURIComponent(secret)] };
  }

  /** The serial and lineage of the workspace's state now (null: no state written yet). */
  async function version(schema: string): Promise<StateVersion> {
    const rows = await pool.query<{ data: string }>(`select data from ${quote(schema)}.states where name = 'default'`);
    const data = rows.rows[0]?.data;
    if (!data) return null;
    const doc = JSON.parse(data) as { serial?: number; lineage?: string };
    return typeof doc.serial === 'number' && doc.lineage ? { serial: doc.serial, lineage: doc.lineage } : null;
  }

  /**
   * Waits until nothing holds the workspace's state lock (terraform's pg backend takes an advisory lock
   * on the state row's id; -1 only for a workspace provisioned before emptyState() was written). An interrupted terraform on this host
   * releases it as its connection closes; one on a dead host only when PostgreSQL drops the session.
   * Returns false if still locked at the deadline.
   */
  async function waitUntilUnlocked(schema: string, deadlineMs: number, onWait: () => void): Promise<boolean> {
    const client = await pool.connect();
    try {
      const row = await client.query<{ id: string }>(`select id from ${quote(schema)}.states where name = 'default'`);
      const lockId = row.rows[0]?.id ?? '-1';
      for (;;) {
        const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [lockId]);
        if (got.rows[0]?.ok) {
          await client.query('select pg_advisory_unlock($1::bigint)', [lockId]);
          return true;
        }
        if (Date.now() > deadlineMs) return false;
        onWait();
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      client.release();
    }
  }

  return { forWorkspace, version, waitUntilUnlocked, pool, close: () => pool.end() };
}
export type StateStore = ReturnType<typeof createStateStore>;
