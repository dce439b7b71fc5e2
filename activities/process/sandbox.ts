import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** The user a run's processes execute as; null = the worker's own user (the worker is not root). */
export type Sandbox = { uid: number; gid: number } | null;

// Far above any uid a distribution hands out, below the 32-bit limit and the overflow ids.
const UID_BASE = 1_900_000_000;
const UID_SPAN = 50_000_000;

export type IsolationMode = 'sandbox' | 'shared-user' | 'root-allowed';

/**
 * How this worker runs user code. As root it drops to a uid of the run's own (setpriv), so a run can
 * read neither the worker's files nor another run's; as another user it cannot drop privileges, and
 * user code runs as that user. Running user code as root is refused unless explicitly allowed.
 */
export function isolationMode(opts: { isRoot: boolean; hasSetpriv: boolean; allowRootRuns: boolean }): IsolationMode {
  if (!opts.isRoot) return 'shared-user';
  if (opts.hasSetpriv) return 'sandbox';
  if (opts.allowRootRuns) return 'root-allowed';
  throw new Error(
    'the worker runs as root but cannot drop privileges for user code (setpriv from util-linux is missing): ' +
      'install util-linux, run the worker as an unprivileged user, or set ALLOW_ROOT_RUNS=true to run user code as root',
  );
}

/**
 * A uid that belongs to this run alone on this host. It is derived from the run id and claimed with an
 * exclusive lease file, so two runs never share one even if their ids hash alike; every process of the
 * run gets the same uid, and files a dead attempt left behind stay readable only by it.
 */
export async function leaseSandbox(workRoot: string, runId: string): Promise<{ uid: number; gid: number }> {
  const leases = path.join(workRoot, '.uids');
  await mkdir(leases, { recursive: true, mode: 0o700 });
  const start = createHash('sha256').update(runId).digest().readUInt32BE(0) % UID_SPAN;
  for (let i = 0; i < 1000; i++) {
    const uid = UID_BASE + ((start + i) % UID_SPAN);
    const file = path.join(leases, String(uid));
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(runId);
      await handle.close();
      return { uid, gid: uid };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await readFile(file, 'utf8').catch(() => '')) === runId) return { uid, gid: uid };
    }
  }
  throw new Error('no free sandbox uid: too many runs hold one on this host');
}

/** Frees the run's uid once nothing of the run is left on this host. */
export async function releaseSandbox(workRoot: string, uid: number, runId: string): Promise<void> {
  const file = path.join(workRoot, '.uids', String(uid));
  if ((await readFile(file, 'utf8').catch(() => '')) === runId) await rm(file, { force: true });
}

/** The command prefix that drops to the sandbox user: no groups, no new privileges (setuid binaries stay inert). */
export function dropPrivileges(sandbox: Sandbox): string[] {
  if (!sandbox) return [];
  return ['setpriv', `--reuid=${sandbox.uid}`, `--regid=${sandbox.gid}`, '--clear-groups', '--no-new-privs', '--'];
}
