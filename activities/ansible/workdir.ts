import { chmod, cp, lchown, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { AnsibleParams } from '../../contracts/kinds/ansible.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import type { Sandbox } from '../process/sandbox.ts';
import { sourceDir } from '../git/checkout.ts';
import { writeSandboxFile } from '../process/sandbox-files.ts';

/** What OpsSight writes beside the playbook; a user file cannot live here (the params schema refuses it). */
export const OWN_DIR = '.opssight';

const invalid = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

/**
 * Where one step of a run (the check, the real run) keeps its files on this host: the step dir holds
 * the runner's control directories, `work/` the playbook and what ansible-playbook needs, readable by
 * the run's sandbox user alone. Steps get short names: ssh's ControlPath must fit in a socket path.
 */
export function stepDirs(root: string, runId: string, step: string) {
  const runDir = path.join(root, runId);
  const stepDir = path.join(runDir, step);
  return { runDir, stepDir, workDir: path.join(stepDir, 'work') };
}
export type StepDirs = ReturnType<typeof stepDirs>;

/** Whether anything is at `p`, a dangling symbolic link included (nothing is followed). */
const exists = (p: string) => lstat(p).then(() => true, () => false);

async function traversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
}

export type FetchSource = (into: string) => Promise<{ commit: string }>;

/**
 * Fills `work/` with the playbook and its files (inline, or a checkout of the run's git source) plus
 * what `extra` returns for OpsSight's own directory, owned by the sandbox user. Renamed into place
 * whole: an attempt that dies while writing never leaves half a work dir, and a later attempt of the
 * same step on this host finds the one an earlier attempt made (with its commit).
 */
export async function prepareWorkDir(
  root: string,
  runId: string,
  step: string,
  params: AnsibleParams,
  sandbox: Sandbox,
  own: (workDir: string) => Promise<Record<string, { text: string; mode?: number }>>,
  fetchSource?: FetchSource,
): Promise<StepDirs & { commit: string | null; fresh: boolean }> {
  const dirs = stepDirs(root, runId, step);
  const commitFile = path.join(dirs.stepDir, 'commit');
  await traversable(root);
  await traversable(dirs.runDir);
  await traversable(dirs.stepDir);
  if (await exists(dirs.workDir)) return { ...dirs, commit: (await readFile(commitFile, 'utf8').catch(() => '')) || null, fresh: false };
  const staging = `${dirs.workDir}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  let commit: string | null = null;
  if (params.source && fetchSource) {
    const checkoutDir = path.join(dirs.stepDir, 'checkout');
    await rm(checkoutDir, { recursive: true, force: true });
    ({ commit } = await fetchSource(checkoutDir));
    const from = await sourceDir(checkoutDir, params.source.path).catch((err: Error) => {
      throw invalid(err.message);
    });
    if (!from) throw invalid(`${params.source.path} does not exist in ${params.source.url} at ${params.source.ref}`);
    // Symlinks stay symlinks: whatever they point at is read later as the sandbox user, never as the worker.
    await cp(from, staging, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== '.git' });
    await rm(checkoutDir, { recursive: true, force: true });
    if (await exists(path.join(staging, OWN_DIR))) throw invalid(`${OWN_DIR} in the repository: that name is OpsSight's`);
    if (!(await exists(path.join(staging, params.entry)))) throw invalid(`${params.entry} does not exist in ${params.source.path} of ${params.source.url} at ${params.source.ref}`);
    await writeFile(commitFile, commit);
  }
  const files: Record<string, { text: string; mode?: number }> = {};
  for (const [name, text] of Object.entries(params.files ?? {})) files[name] = { text };
  if (params.playbook !== undefined) files[params.entry] = { text: params.playbook };
  for (const [name, file] of Object.entries(await own(dirs.workDir))) files[path.join(OWN_DIR, name)] = file;
  for (const [name, file] of Object.entries(files)) {
    const target = path.join(staging, name);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    // Over a symbolic link a checkout may hold at that name, never through it (the worker may be root).
    await writeSandboxFile(target, file.text, null, file.mode ?? 0o600);
  }
  if (sandbox) await chownTree(staging, sandbox);
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
