/**
 * `npm run migrate`: applies the committed migrations in db/migrations to DATABASE_URL, prints each
 * one it applied, exits 1 with the reason on failure (all-or-nothing: a failed run applies none).
 *
 * This entry point needs one setting only. db/ may not import core/ (lint zones), and the full
 * core/config would demand Redis, Temporal and JWT settings a migration has no use for, so the one
 * variable is read and checked here.
 */
import { migrateUp } from './orm.ts';

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    console.error('migrate: DATABASE_URL must be set to a postgres:// URL');
    return 1;
  }
  try {
    const applied = await migrateUp(url);
    if (applied.length === 0) console.log(`migrate: ${redactUrl(url)} is up to date`);
    for (const name of applied) console.log(`migrate: applied ${name}`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`migrate: failed on ${redactUrl(url)}: ${message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
