import { chmod, chown, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import type { TerraformParams } from '../../contracts/kinds/terraform.ts';
import type { Sandbox } from '../process/sandbox.ts';

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

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Directories others may pass through but not list: a sandbox user reaches its own work dir and nothing beside it. */
async function traversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
}

/**
 * Writes the configuration, variables and our backend block into the step's work dir, owned by the
 * sandbox user; an existing work dir (an earlier attempt of this step on this host) is kept as it is.
 */
export async function prepareWorkDir(root: string, runId: string, step: string, params: TerraformParams, sandbox: Sandbox): Promise<ReturnType<typeof stepDirs>> {
  validateFiles(params.files);
  const dirs = stepDirs(root, runId, step);
  await traversable(root);
  await traversable(dirs.runDir);
  await traversable(dirs.stepDir);
  if (await exists(dirs.workDir)) return dirs;
  const staging = `${dirs.workDir}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  const files: Record<string, string> = {
    ...params.files,
    [VARS_FILE]: JSON.stringify(params.variables ?? {}, null, 2),
    [BACKEND_FILE]: 'terraform {\n  backend "pg" {}\n}\n',
    // An empty CLI config keeps the host's ~/.terraformrc (credentials, mirrors) out of runs.
    '.terraformrc': '',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(staging, name), text, { mode: 0o600 });
  if (sandbox) {
    for (const name of [...Object.keys(files), '']) await chown(path.join(staging, name), sandbox.uid, sandbox.gid);
  }
  // Renamed into place whole, so an attempt that dies while writing never leaves a half-written work dir.
  await rename(staging, dirs.workDir);
  return dirs;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

