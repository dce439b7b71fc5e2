import { chmod, cp, lchown, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { sourceDir } from '../git/checkout.ts';
import type { Sandbox } from './sandbox.ts';
import { writeSandboxFile } from './sandbox-files.ts';

export const invalidConfig = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

/**
 * Where one step of a run (a plan round, an apply, an Ansible check or play) keeps its files on this
 * host: `<root>/<runId>/<step>/` holds the worker's control directories (process output, exit codes)
 * and `work/`, the tool's working directory, which only the run's sandbox user can read. Every attempt
 * of the step on this host shares it, so what a dead attempt left (a saved plan, errored.tfstate) is
 * found. Steps get short names: ssh's ControlPath must fit in a socket path.
 */
export function stepDirs(root: string, runId: string, step: string) {
  const runDir = path.join(root, runId);
  const stepDir = path.join(runDir, step);
  return { runDir, stepDir, workDir: path.join(stepDir, 'work') };
}
export type StepDirs = ReturnType<typeof stepDirs>;

/** Fills a directory with the run's source from git; resolves to the commit it checked out. */
export type FetchSource = (into: string) => Promise<{ commit: string }>;
export type WorkFiles = Record<string, { text: string; mode?: number }>;

/** Whether anything is at `p`, a dangling symbolic link included (lstat: nothing is followed). */
export const exists = (p: string) => lstat(p).then(() => true, () => false);

/** Directories others may pass through but not list: a sandbox user reaches its own work dir and nothing beside it. */
async function traversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
}

/**
 * Fills the step's `work/` with the run's files: a checkout of its git source (when it has one and
 * `fetchSource` is given; `checkCheckout` refuses one that holds what it must not or lacks what the
 * kind needs) and then `files(workDir)` on top, owned by the sandbox user. Built in a staging
 * directory and renamed into place whole: an attempt that dies while writing never leaves half a work
 * dir, and a later attempt of the same step on this host finds the one an earlier attempt made, with
 * its commit (`fresh` false).
 */
export async function prepareStepDir(opts: {
  root: string;
  runId: string;
  step: string;
  sandbox: Sandbox;
  source?: { url: string; ref: string; path: string } | undefined;
  fetchSource?: FetchSource | undefined;
  checkCheckout: (staging: string) => Promise<void>;
  files: (workDir: string) => Promise<WorkFiles>;
}): Promise<StepDirs & { commit: string | null; fresh: boolean }> {
  const dirs = stepDirs(opts.root, opts.runId, opts.step);
  const commitFile = path.join(dirs.stepDir, 'commit');
  await traversable(opts.root);
  await traversable(dirs.runDir);
  await traversable(dirs.stepDir);
  if (await exists(dirs.workDir)) return { ...dirs, commit: (await readFile(commitFile, 'utf8').catch(() => '')) || null, fresh: false };
  const staging = `${dirs.workDir}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  let commit: string | null = null;
  const { source, fetchSource } = opts;
  if (source && fetchSource) {
    const checkoutDir = path.join(dirs.stepDir, 'checkout');
    await rm(checkoutDir, { recursive: true, force: true });
    ({ commit } = await fetchSource(checkoutDir));
    const from = await sourceDir(checkoutDir, source.path).catch((err: Error) => {
      throw invalidConfig(err.message);
    });
    if (!from) throw invalidConfig(`${source.path} does not exist in ${source.url} at ${source.ref}`);
    // Symlinks stay symlinks: whatever they point at is read later as the sandbox user, never as the worker.
    await cp(from, staging, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== '.git' });
    await rm(checkoutDir, { recursive: true, force: true });
    await opts.checkCheckout(staging);
    await writeFile(commitFile, commit);
  }
  for (const [name, file] of Object.entries(await opts.files(dirs.workDir))) {
    const target = path.join(staging, name);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    // Over a symbolic link a checkout may hold at that name (.terraformrc -> /etc/passwd), never
    // through it: written as the worker, which may be root, following it would change the file it points at.
    await writeSandboxFile(target, file.text, null, file.mode ?? 0o600);
  }
  if (opts.sandbox) await chownTree(staging, opts.sandbox);
  await rename(staging, dirs.workDir);
  return { ...dirs, commit, fresh: true };
}

async function chownTree(dir: string, sandbox: NonNullable<Sandbox>): Promise<void> {
  await lchown(dir, sandbox.uid, sandbox.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, sandbox);
    else await lchown(p, sandbox.uid, sandbox.gid);
  }
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
