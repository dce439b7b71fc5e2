import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Sandbox } from './sandbox.ts';

/** Whether path `p` is `root` or below it (both resolved already: no link is followed here). */
export const within = (root: string, p: string) => p === root || p.startsWith(`${root}${path.sep}`);

/**
 * Files the worker (root, when runs are sandboxed) writes or reads in a directory the run's sandbox
 * user owns. Run code can leave a symbolic link at any name there (`opssight.tfplan -> /etc/…`), so
 * no name is followed: a write removes whatever is at the name and creates a new file (O_EXCL, which
 * also refuses a link put back in between), owned by the sandbox user through its own descriptor; a
 * read opens without following links and takes only a regular file that user owns.
 */
export async function writeSandboxFile(file: string, data: string | Uint8Array, sandbox: Sandbox, mode = 0o600): Promise<void> {
  await rm(file, { force: true });
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(data);
    if (sandbox) await handle.chown(sandbox.uid, sandbox.gid);
  } finally {
    await handle.close();
  }
}

/** The file's bytes; null when there is none; throws for a link, a non-file or (sandboxed) a file the run does not own. */
export async function readSandboxFile(file: string, sandbox: Sandbox): Promise<Buffer | null> {
  const name = path.basename(file);
  // O_NONBLOCK: a FIFO left at the name must not hang the worker.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ELOOP') throw new Error(`${name} is a symbolic link the run left: not read`, { cause: err });
    throw err;
  });
  if (!handle) return null;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${name} is not a regular file: not read`);
    if (sandbox && st.uid !== sandbox.uid) throw new Error(`${name} is not the run's own file: not read`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
