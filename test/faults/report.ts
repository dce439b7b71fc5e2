import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `npm run test:faults` sets FAULTS=full: the counts the durability issue asks for; CI runs fewer. */
export const rounds = (ci: number, full: number) => (process.env.FAULTS === 'full' ? full : ci);

export const ARTIFACTS = path.resolve('test-artifacts/faults');

/** One row of the fault table: what was done, how often, and how often nothing was lost or doubled. */
export function recordFault(row: { fault: string; passed: number; rounds: number; detail: string }): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${row.fault.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.json`);
  writeFileSync(file, `${JSON.stringify(row)}\n`);
}
