import { expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflows } from '../../workers/bundle.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Bundled once for both tests: webpack takes seconds.
let bundled: Promise<{ code: string }> | undefined;
const bundle = () => (bundled ??= bundleWorkflows(false));

// Every byte of the bundle is in every worker, and a library pulled in by a runtime import (a constant
// next to a zod schema, say) is evaluated in the workflow sandbox: 1,000 escalations took 2.3 GiB of
// worker memory with zod in the bundle and 1.0 GiB without it (bench/alerts.ts).
test('the workflow bundle holds only the SDK and our workflow code', async () => {
  const { code } = await bundle();
  const packages = new Set([...code.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]));
  const sdk = new Set(['@temporalio/common', '@temporalio/workflow', 'nexus-rpc', 'long', 'ms']);
  expect([...packages].filter((p) => !sdk.has(p!))).toEqual([]);
  expect(packages.has('@temporalio/workflow')).toBe(true);
}, 120_000);

// workers/bundle.ts preloads the workflow modules: the reusable V8 context evaluates them once and
// every execution shares them. A module-level variable or container would then be shared by every
// run and alert on the worker, and leak one's state into another's replay.
test('our workflow modules keep no state at module level', async () => {
  const { code } = await bundle();
  const ours = [...new Set([...code.matchAll(/"\.\/((?:workflows|contracts)\/[^"]+\.ts)"/g)].map((m) => m[1]!))];
  expect(ours).toContain('workflows/escalation.ts');
  const stateful = ours.flatMap((file) =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => /^(export )?(let|var) /.test(line) || /^(export )?const \w+(: [^=]+)? = (new (Map|Set|WeakMap|WeakSet|Array)\b|\[)/.test(line))
      .map((line) => `${file}: ${line}`),
  );
  expect(stateful).toEqual([]);
}, 120_000);
