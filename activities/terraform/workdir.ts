import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { TerraformParams } from '../../contracts/kinds/terraform.ts';
import type { Sandbox } from '../process/sandbox.ts';
import { within } from '../process/sandbox-files.ts';
import { exists, invalidConfig, prepareStepDir, type FetchSource, type StepDirs } from '../process/step-dir.ts';

/** Files we generate next to the user's configuration; a user file with one of these names would shadow ours. */
export const BACKEND_FILE = '_opssight_backend.tf';
export const VARS_FILE = 'opssight.auto.tfvars.json';
export const PLAN_FILE = 'opssight.tfplan';
/** What terraform leaves when it could not save the state it changed; never thrown away. */
export const ERRORED_STATE = 'errored.tfstate';
const RESERVED = new Set([BACKEND_FILE, VARS_FILE]);

/** File names we must not write (the configuration's content is checked by policy.ts). */
export function validateFiles(files: Record<string, string>): void {
  for (const name of Object.keys(files)) {
    if (RESERVED.has(name)) throw invalidConfig(`${name} is a reserved file name`);
    if (name !== path.basename(name)) throw invalidConfig(`${name} must be a plain file name`);
  }
}

/**
 * The step's work dir (see prepareStepDir): the configuration (inline files, or a checkout of the
 * run's git source), its variables and our backend block.
 */
export async function prepareWorkDir(
  root: string,
  runId: string,
  step: string,
  params: TerraformParams,
  sandbox: Sandbox,
  fetchSource?: FetchSource,
): Promise<StepDirs & { commit: string | null }> {
  validateFiles(params.files ?? {});
  return prepareStepDir({
    root,
    runId,
    step,
    sandbox,
    source: params.source,
    fetchSource,
    async checkCheckout(staging) {
      for (const name of RESERVED) if (await exists(path.join(staging, name))) throw invalidConfig(`${name} is a reserved file name`);
    },
    async files() {
      const files: Record<string, string> = {
        ...params.files,
        [VARS_FILE]: JSON.stringify(params.variables ?? {}, null, 2),
        [BACKEND_FILE]: 'terraform {\n  backend "pg" {}\n}\n',
        // An empty CLI config keeps the host's ~/.terraformrc (credentials, mirrors) out of runs.
        '.terraformrc': '',
      };
      return Object.fromEntries(Object.entries(files).map(([name, text]) => [name, { text }]));
    },
  });
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
    if (entry.isSymbolicLink() && (!real || !within(top, real))) throw invalidConfig(`${rel} is a symbolic link that leads outside the configuration`);
    if (entry.isDirectory()) Object.assign(files, await configurationFiles(full, rel, top));
    else if (isTf && (entry.isFile() || entry.isSymbolicLink())) files[rel] = await readFile(real!, 'utf8');
  }
  return files;
}

