import { createRequire } from 'node:module';
import { ApplicationFailure } from '@temporalio/common';
import type { TeamSettings } from '../../contracts/teams.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

/** What a team forbids in the configurations its runs apply: the `terraform` part of its settings. */
export type TerraformPolicy = TeamSettings['terraform'];
export const NO_POLICY: TerraformPolicy = { forbidProvisioners: [], forbidExternalData: false };

// HashiCorp's HCL parser (hcl2json compiled to WebAssembly). Loaded without its type declarations,
// which pull the DOM library into the whole program; the one function used is typed here.
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(file: string, text: string): Promise<Record<string, unknown>> };

type Block = Record<string, unknown>;
type Config = { terraform?: unknown; resource?: unknown; data?: unknown; module?: unknown };

const refuse = (type: string, message: string) => ApplicationFailure.create({ message, type, nonRetryable: true });
const list = (v: unknown): Block[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : []) as Block[];
const entries = (v: unknown): Array<[string, unknown]> => (v && typeof v === 'object' ? Object.entries(v as Block) : []);

/** Where in the file a block starts, for the message (the parser's JSON keeps no positions). */
function linesOf(text: string, pattern: RegExp): number[] {
  const lines = text.split('\n');
  return lines.flatMap((line, i) => (pattern.test(line.replace(/(#|\/\/).*$/, '')) ? [i + 1] : []));
}

function where(name: string, text: string, pattern: RegExp): string {
  const lines = name.endsWith('.json') ? [] : linesOf(text, pattern);
  return lines.length ? `${name} line ${lines.join(', ')}` : name;
}

/** The configuration as the HCL parser reads it (JSON syntax files as JSON), or the parser's error. */
async function read(name: string, text: string): Promise<Config> {
  if (name.endsWith('.tf.json')) {
    try {
      return JSON.parse(text) as Config;
    } catch (err) {
      throw refuse(FAILURE_TYPES.invalidConfig, `${name} is not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return (await parse(name, text)) as Config;
  } catch (err) {
    // The parser names file, line and column: "main.tf:3,9-10: Invalid expression; ...".
    throw refuse(FAILURE_TYPES.invalidConfig, (err as Error).message.replace(/^parse config: \[(.*)\]$/s, '$1'));
  }
}

/**
 * Checks a configuration before any process starts, on what the HCL parser reads (not on text, which
 * comments, heredocs and override files fool): no backend of its own, and nothing the team's policy
 * forbids. A refusal names the file and line.
 */
export async function checkConfiguration(files: Record<string, string>, policy: TerraformPolicy): Promise<void> {
  const problems: string[] = [];
  const strict = policy.forbidProvisioners.length > 0 || policy.forbidExternalData;
  for (const [name, text] of Object.entries(files)) {
    const config = await read(name, text);
    for (const block of list(config.terraform)) {
      for (const kind of ['backend', 'cloud'] as const) {
        if (kind in block) {
          throw refuse(
            FAILURE_TYPES.invalidConfig,
            `${where(name, text, new RegExp(`^\\s*${kind}\\b`))} declares a ${kind === 'cloud' ? 'cloud block' : 'backend'}; OpsSight keeps state in its own pg backend, remove it`,
          );
        }
      }
    }
    for (const [, named] of entries(config.resource)) {
      for (const [, instances] of entries(named)) {
        for (const resource of list(instances)) {
          for (const [kind] of entries(list(resource.provisioner).reduce((a, b) => ({ ...a, ...b }), {}))) {
            if ((policy.forbidProvisioners as string[]).includes(kind)) {
              problems.push(`${where(name, text, new RegExp(`provisioner\\s+"${kind}"`))}: the team's policy forbids "${kind}" provisioners`);
            }
          }
        }
      }
    }
    if (policy.forbidExternalData && entries(config.data).some(([type]) => type === 'external')) {
      problems.push(`${where(name, text, /data\s+"external"/)}: the team's policy forbids the "external" data source`);
    }
    if (strict) {
      for (const [label, instances] of entries(config.module)) {
        const source = String(list(instances)[0]?.source ?? '');
        // A module fetched at init cannot be checked before it runs; only this configuration's own files can.
        if (!source.startsWith('./') && !source.startsWith('../')) {
          problems.push(`${where(name, text, new RegExp(`module\\s+"${label}"`))}: module "${label}" comes from ${source}, which cannot be checked against the team's policy before it is downloaded`);
        }
      }
    }
  }
  if (problems.length) throw refuse(FAILURE_TYPES.policy, `refused by the team's Terraform policy:\n${problems.join('\n')}`);
}
