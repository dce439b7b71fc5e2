/**
 * The embedded Temporal dev server's SQLite in write-ahead-log mode, synced at checkpoints rather than
 * at every commit. A killed server process loses nothing it committed; only a machine losing power can
 * lose the last commits (docs/durability.md). With SQLite's defaults every commit waits for the disk,
 * and the server runs a quarter as many workflow tasks a second. The test peer runs it the same way.
 */
const TEMPORAL_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];
export const temporalSqliteArgs = () => TEMPORAL_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]);
