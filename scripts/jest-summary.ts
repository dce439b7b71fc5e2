// Prints one plain closing line for the whole suite ("jest: N passed, N failed, N skipped") from the
// JSON reports jest wrote, so whoever reads the end of the log sees what ran, whatever printed before.
import { readFileSync, existsSync } from 'node:fs';

interface Report { numPassedTests: number; numFailedTests: number; numPendingTests: number; numRuntimeErrorTestSuites: number }

let passed = 0, failed = 0, skipped = 0;
for (const file of process.argv.slice(2)) {
  // A jest that died before reporting counts as a failure, never as "nothing ran".
  if (!existsSync(file)) { failed += 1; continue; }
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  passed += report.numPassedTests;
  failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
  skipped += report.numPendingTests;
}
console.log(`jest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
