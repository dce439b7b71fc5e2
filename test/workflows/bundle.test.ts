import { expect, test } from '@jest/globals';
import { bundleWorkflows } from '../../workers/bundle.ts';

// The worker reuses one V8 context, but every module of the bundle is evaluated again for each
// workflow execution it holds: a library pulled in by a runtime import (a constant next to a zod
// schema, say) is paid for by every open alert and every run. 1,000 escalations took 2.3 GiB of
// worker memory with zod in the bundle and 1.0 GiB without it (bench/alerts.ts).
test('the workflow bundle holds only the SDK and our workflow code', async () => {
  const { code } = await bundleWorkflows(false);
  const packages = new Set([...code.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]));
  const sdk = new Set(['@temporalio/common', '@temporalio/workflow', 'nexus-rpc', 'long', 'ms']);
  expect([...packages].filter((p) => !sdk.has(p!))).toEqual([]);
  expect(packages.has('@temporalio/workflow')).toBe(true);
}, 120_000);
