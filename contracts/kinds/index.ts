import type { Kind } from './kind.ts';
import { ansibleKind } from './ansible.ts';
import { healthScanKind } from './health-scan.ts';
import { costActionKind } from './cost-action.ts';
import { costScanKind } from './cost-scan.ts';
import { sshCommandKind } from './ssh-command.ts';
import { deployKind } from './deploy.ts';
import { terraformKind } from './terraform.ts';
import { pipelineKind } from './pipeline.ts';

export type { Kind, KindSpec, ParsedParams, SummaryStyle } from './kind.ts';

/**
 * Every kind of run the platform offers. Adding one: its contract and params schema (a file here),
 * its workflow (workflows/), its activities (activities/<system>/), and one line each here and in
 * workers/queues.ts. The API, the OpenAPI document, RBAC (`runs:start:<kind>`) and the dashboard's
 * start form pick it up from this list.
 */
const ALL: Kind[] = [terraformKind, ansibleKind, sshCommandKind, deployKind, healthScanKind, costScanKind, costActionKind, pipelineKind];

export const KINDS: Readonly<Record<string, Kind>> = Object.freeze(Object.fromEntries(ALL.map((k) => [k.kind, k])));

/** The kind called `name`; own keys only, so `constructor` or `__proto__` are unknown kinds, not Object's. */
export const kindNamed = (name: string): Kind | undefined => (Object.hasOwn(KINDS, name) ? KINDS[name] : undefined);
export const kindNames = (): string[] => Object.keys(KINDS);
