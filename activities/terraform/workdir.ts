import { chmod, cp, lchown, lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import type { TerraformParams } from '../../contracts/kinds/terraform.ts';
import type { Sandbox } from '../process/sandbox.ts';
import { sourceDir } from '../git/checkout.ts';
import { within, writeSandboxFile } from '../process/sandbox-files.ts';

/** Files we generate next to the user's configuration; a user file with one of these names would shadow ours. */
export const BACKEND_FILE = '_opssight_backend.tf';
export const VARS_FILE = 'opssight.auto.tfvars.json';
export const PLAN_FILE = 'opssight.tfplan';
/** What terraform leaves when it could not save the state it changed; never thrown away. */
export const ERRORED_STATE = 'errored.tfstate';
const RESERVED = new Set([BACKEND_FILE, VARS_FILE]);

const invalid = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

/** File names we must not write (the configuration's content is checked by policy.ts). */
export function validateFiles(files: Record<string, string>): void {
  for (const name of Object.keys(files)) {
    if (RESERVED.has(name)) throw invalid(`${name} is a reserved file name`);
    if (name !== path.basename(name)) throw invalid(`${name} must be a plain file name`);
  }
}

/**
 * Where one step of a run (a plan round, an apply of one saved plan) keeps its files on this host:
 * `<root>/<runId>/<step>/` holds the worker's control directories (process output, exit codes) and
 * `work/`, the tool's working directory, which only the run's sandbox user can read. Every attempt of
 * the step on this host shares it, so what a dead attempt left (a saved plan, errored.tfstate) is found.
 */
export function stepDirs(root: string, runId: string, step: string): { runDir: string; stepDir: string; workDir: string } {
  const runDir = path.join(root, runId);
  const stepDir = path.join(runDir, step);
  return { runDir, stepDir, workDir: path.join(stepDir, 'work') };
}

/** Whether anything is at `p`, a dangling symbolic link included (lstat: nothing is followed). */
async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/** Directories others may pass through but not list: a sandbox user reaches its own work dir and nothing beside it. */
async function traversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
}

/** Fills a staging directory with the configuration from git; resolves to the commit it checked out. */
export type FetchSource = (into: string) => Promise<{ commit: string }>;

/**
 * Writes the configuration (inline files, or a checkout of the run's git source), variables and our
 * backend block into the step's work dir, owned by the sandbox user. An existing work dir (an earlier
 * attempt of this step on this host) is kept as it is, with the commit it was made from.
 */
export async function prepareWorkDir(
  root: string,
  runId: string,
  step: string,
  params: TerraformParams,
  sandbox: Sandbox,
  fetchSource?: FetchSource,
): Promise<ReturnType<typeof stepDirs> & { commit: string | null }> {
  validateFiles(params.files ?? {});
  const dirs = stepDirs(root, runId, step);
  const commitFile = path.join(dirs.stepDir, 'commit');
  await traversable(root);
  await traversable(dirs.runDir);
  await traversable(dirs.stepDir);
  if (await exists(dirs.workDir)) return { ...dirs, commit: (await readFile(commitFile, 'utf8').catch(() => '')) || null };
  const staging = `${dirs.workDir}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  let commit: string | null = null;
  if (params.source && fetchSource) {
    const checkoutDir = `${dirs.stepDir}/checkout`;
    await rm(checkoutDir, { recursive: true, force: true });
    ({ commit } = await fetchSource(checkoutDir));
    const from = await sourceDir(checkoutDir, params.source.path).catch((err: Error) => {
      throw invalid(err.message);
    });
    if (!from) throw invalid(`${params.source.path} does not exist in ${params.source.url} at ${params.source.ref}`);
    // Symlinks stay symlinks: whatever they point at is read later as the sandbox user, never as the worker.
    await cp(from, staging, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== '.git' });
    await rm(checkoutDir, { recursive: true, force: true });
    for (const name of RESERVED) if (await exists(path.join(staging, name))) throw invalid(`${name} is a reserved file name`);
    await writeFile(commitFile, commit);
  }
  const files: Record<string, string> = {
    ...params.files,
    [VARS_FILE]: JSON.stringify(params.variables ?? {}, null, 2),
    [BACKEND_FILE]: 'terraform {\n  backend "pg" {}\n}\n',
    // An empty CLI config keeps the host's ~/.terraformrc (credentials, mirrors) out of runs.
    '.terraformrc': '',
  };
  // A checkout may hold a symbolic link at one of these names (.terraformrc -> /etc/passwd): written
  // as the worker, following it would change the file it points at.
  for (const [name, text] of Object.entries(files)) await writeSandboxFile(path.join(staging, name), text, null);
  if (sandbox) await chownTree(staging, sandbox);
  // Renamed into place whole, so an attempt that dies while writing never leaves a half-written work dir.
  await rename(staging, dirs.workDir);
  return { ...dirs, commit };
}

async function chownTree(dir: string, sandbox: NonNullable<Sandbox>): Promise<void> {
  await lchown(dir, sandbox.uid, sandbox.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, sandbox);
    else await lchown(p, sandbox.uid, sandbox.gid);
  }
}

/**
 * The Terraform configuration files in a work dir (its root module and local modules below it), as
 * Terraform loads them: hidden directories (`source = "./.modules/x"`) and symbolic links included,
 * so the policy reads every file Terraform will. A link that leads out of the work dir is refused:
 * the worker reads these files, and must not read one of its host's through a run's link.
 */
export async function configurationFiles(dir: string, prefix = '', root?: string): Promise<Record<string, string>> {
  const top = root ?? (await realpath(dir));
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === '.terraform' || entry.name === '.git') continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const full = path.join(dir, entry.name);
    const isTf = /\.tf(\.json)?$/.test(entry.name) && entry.name !== BACKEND_FILE;
    if (entry.isSymbolicLink() && !isTf) continue;
    const real = entry.isSymbolicLink() ? await realpath(full).catch(() => null) : full;
    if (entry.isSymbolicLink() && (!real || !within(top, real))) throw invalid(`${rel} is a symbolic link that leads outside the configuration`);
    if (entry.isDirectory()) Object.assign(files, await configurationFiles(full, rel, top));
    else if (isTf && (entry.isFile() || entry.isSymbolicLink())) files[rel] = await readFile(real!, 'utf8');
  }
  return files;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

