/**
 * Prints the fault suite's table (`npm run test:faults` runs the suite with the full counts, then
 * this): one row per fault, from what each test recorded in test-artifacts/faults/.
 * With --markdown, a markdown table for the README.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MARKDOWN, replaceMarkedBlock, table } from '../bench/stats.ts';

const dir = path.resolve('test-artifacts/faults');
const rows = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { fault: string; passed: number; rounds: number; detail: string });
const printed = table([['fault', 'passed', 'what was checked'], ...rows.map((r) => [r.fault, `${r.passed}/${r.rounds}`, r.detail])]);
console.log(printed);
if (MARKDOWN) {
  const stamp = `<sub>From \`npm run test:faults\` then \`node scripts/faults-table.ts --markdown\`, ${new Date().toISOString().slice(0, 10)}.</sub>`;
  writeFileSync('README.md', replaceMarkedBlock(readFileSync('README.md', 'utf8'), 'faults:table', `${printed}\n\n${stamp}`));
  console.log('README.md: fault table updated');
}
process.exit(rows.every((r) => r.passed === r.rounds) ? 0 : 1);
