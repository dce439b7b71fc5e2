/**
 * Prints the fault suite's table (`npm run test:faults` runs the suite with the full counts, then
 * this): one row per fault, from what each test recorded in test-artifacts/faults/.
 * With --markdown, a markdown table for the README.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { table } from '../bench/stats.ts';

const dir = path.resolve('test-artifacts/faults');
const rows = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { fault: string; passed: number; rounds: number; detail: string });
console.log(table([['fault', 'passed', 'what was checked'], ...rows.map((r) => [r.fault, `${r.passed}/${r.rounds}`, r.detail])]));
process.exit(rows.every((r) => r.passed === r.rounds) ? 0 : 1);
