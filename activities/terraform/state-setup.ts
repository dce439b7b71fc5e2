import pg from 'pg';
import type { Logger } from '../../core/logger.ts';
import { isEmptyState, type StateStore } from './state.ts';

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const dbName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

/**
 * Prepares the Terraform state database before the worker takes runs: creates it when it is the
 * default one beside the OpsSight database, keeps teams' roles out of the OpsSight database and out of
 * the state database's public schema, and moves state from before team scoping into the team schemas.
 */
export async function prepareStateDatabase(opts: { databaseUrl: string; stateUrl: string; store: StateStore; logger: Logger }): Promise<void> {
  const { databaseUrl, stateUrl, store, logger } = opts;
  const app = new pg.Client({ connectionString: databaseUrl });
  await app.connect();
  try {
    // Workers starting together would race on CREATE DATABASE, the REVOKEs (tuple concurrently
    // updated) and the migration; one at a time, the later ones find the work done. Released when
    // the connection ends.
    await app.query('select pg_advisory_lock(hashtext($1))', ['opssight-state-setup']);
    const name = dbName(stateUrl);
    const sameServer = new URL(stateUrl).host === new URL(databaseUrl).host;
    if (sameServer && name !== dbName(databaseUrl)) {
      const found = await app.query('select 1 from pg_database where datname = $1', [name]);
      if (!found.rowCount) {
        await app.query(`create database ${quote(name)}`).catch((err: Error & { code?: string }) => {
          // Another worker starting at the same moment may win the race: 42P04 (duplicate_database),
          // or 23505 when both got past the catalog check and collide on its unique index.
          if (err.code !== '42P04' && err.code !== '23505') {
            throw new Error(`the Terraform state database ${name} does not exist and could not be created (${err.message}): create it, or set TERRAFORM_STATE_DATABASE_URL`);
          }
        });
        logger.info({ database: name }, 'created the Terraform state database');
      }
    }
    // Team roles log in to the server the OpsSight database is on; they have no business in it.
    await app.query(`revoke connect on database ${quote(dbName(databaseUrl))} from public`).catch((err: Error) => {
      logger.warn({ err: err.message }, 'could not revoke CONNECT on the OpsSight database from PUBLIC; team roles can connect to it (but read nothing)');
    });
    await store.pool.query('revoke create on schema public from public');
    await migrateLegacyState(app, store, logger);
  } finally {
    await app.end();
  }
}

/**
 * Before team scoping, a workspace's state lived in schema `tf_<workspace>` of the OpsSight database,
 * shared by every team. Each moves to the team that ran it last; the old schema is renamed, not dropped.
 */
async function migrateLegacyState(app: pg.Client, store: StateStore, logger: Logger): Promise<void> {
  const legacy = await app.query<{ schema: string }>(
    `select n.nspname as schema from pg_namespace n join pg_class c on c.relnamespace = n.oid
      where n.nspname like 'tf\\_%' and c.relname = 'states' and c.relkind = 'r'`,
  );
  for (const { schema } of legacy.rows) {
    const workspace = schema.slice(3);
    const owner = await app.query<{ team_id: string }>(
      `select team_id from runs where kind = 'terraform' and target = $1 order by created_at desc limit 1`,
      [workspace],
    );
    const teamId = owner.rows[0]?.team_id;
    if (!teamId) {
      logger.warn({ schema }, 'legacy Terraform state belongs to no known run; left in place');
      continue;
    }
    const target = await store.forWorkspace(teamId, workspace);
    const rows = await app.query<{ name: string; data: string }>(`select name, data from ${quote(schema)}.states`);
    const notMoved: string[] = [];
    for (const row of rows.rows) {
      // Provisioning wrote an empty state (emptyState()): the legacy one replaces it, nothing else.
      const moved = await store.pool.query(
        `insert into ${quote(target.schema)}.states as s (name, data) values ($1, $2) on conflict (name) do update set data = excluded.data where ${isEmptyState('s')}`,
        [row.name, row.data],
      );
      if (moved.rowCount) continue;
      // The same state there already is a start that copied it and died before the rename below: done.
      const same = await store.pool.query(`select 1 from ${quote(target.schema)}.states where name = $1 and data = $2`, [row.name, row.data]);
      if (!same.rowCount) notMoved.push(row.name);
    }
    const kept = await renameAside(app, schema);
    logger.info({ from: schema, to: target.schema, teamId, kept }, 'moved legacy Terraform state into its team schema');
    // The team schema's state is the one its runs use; the other copy is not lost, and someone must look.
    if (notMoved.length) logger.warn({ schema: kept, states: notMoved, teamSchema: target.schema }, 'legacy Terraform state not moved: the team schema already has state of that name; the legacy copy is kept');
  }
}

/**
 * Renames a migrated legacy schema out of the way (`migrated_<schema>`). The name can be taken: an
 * older worker still running during an upgrade (or Terraform itself, which creates its schema when it
 * is missing) wrote to `tf_<workspace>` again after it was migrated once. Refusing would stop this
 * worker from starting, so the later copy is kept under a name of its own.
 */
async function renameAside(app: pg.Client, schema: string): Promise<string> {
  const rename = (to: string) => app.query(`alter schema ${quote(schema)} rename to ${quote(to)}`).then(() => to);
  return rename(`migrated_${schema}`.slice(0, 63)).catch((err: Error & { code?: string }) => {
    if (err.code !== '42P06') throw err;
    return rename(`migrated_${Date.now().toString(36)}_${schema}`.slice(0, 63));
  });
}
