import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import type { TerraformParams } from '../../contracts/kinds/terraform.ts';

/** Files we generate next to the user's configuration; a user file with one of these names would shadow ours. */
export const BACKEND_FILE = '_opssight_backend.tf';
export const VARS_FILE = 'opssight.auto.tfvars.json';
export const PLAN_FILE = 'opssight.tfplan';
const RESERVED = new Set([BACKEND_FILE, VARS_FILE]);

const invalid = (message: string) =>
  ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

function stripHclComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:"])(#|\/\/).*$/gm, '$1');
}

/** True when a file declares where state lives; state location is ours to decide (one pg schema per workspace). */
function declaresBackend(name: string, text: string): boolean {
  if (name.endsWith('.tf.json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw invalid(`${name} is not valid JSON`);
    }
    const blocks = (doc as { terraform?: unknown }).terraform;
    const list = Array.isArray(blocks) ? blocks : blocks ? [blocks] : [];
    return list.some((b) => b && typeof b === 'object' && ('backend' in b || 'cloud' in b));
  }
  const code = stripHclComments(text);
  return /\bbackend\s+"[^"]*"\s*\{/.test(code) || /(^|[\s{])cloud\s*\{/.test(code);
}

/** Rejects configurations we must not run, before any process starts. */
export function validateFiles(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    if (RESERVED.has(name)) throw invalid(`${name} is a reserved file name`);
    if (name !== path.basename(name)) throw invalid(`${name} must be a plain file name`);
    if (declaresBackend(name, text)) {
      throw invalid(`${name} declares a backend; OpsSight keeps state in its own pg backend, remove the backend block`);
    }
  }
}

/**
 * A fresh directory per activity invocation: nothing is carried between plan and apply on disk,
 * so any worker can run either (the plan itself travels through PostgreSQL).
 */
export async function prepareWorkDir(root: string, runId: string, tag: string, params: TerraformParams): Promise<string> {
  validateFiles(params.files);
  const dir = path.join(root, runId, `${tag}-${crypto.randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(params.files)) await writeFile(path.join(dir, name), text);
  await writeFile(path.join(dir, VARS_FILE), JSON.stringify(params.variables ?? {}, null, 2));
  await writeFile(path.join(dir, BACKEND_FILE), 'terraform {\n  backend "pg" {}\n}\n');
  // An empty CLI config keeps the user's/host's ~/.terraformrc (credentials, mirrors) out of runs.
  await writeFile(path.join(dir, '.terraformrc'), '');
  return dir;
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
