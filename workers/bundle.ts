import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** The workflow interceptors tracing needs inside the sandbox. */
export const WORKFLOW_INTERCEPTORS_PATH = fileURLToPath(new URL('../workflows/interceptors.ts', import.meta.url));

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/**
 * The workflows as one bundle; `traced` adds the interceptors that put workflow spans out through the
 * `exporter` sink (they add headers and no commands, so histories replay either way). Untraced workers
 * get a bundle without them: an interceptor whose sink is missing logs an error per span.
 */
export function bundleWorkflows(traced: boolean): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    // The workflow modules keep no state of their own (every bit of a run's state lives in its
    // function's scope, test/workflows/bundle.test.ts checks the module scope), so the reusable V8
    // context evaluates them once for all executions instead of once per cached execution.
    preloadModules: [WORKFLOWS_PATH],
    ...(traced ? { workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_PATH] } : {}),
    logger: silent as never,
  });
}

/** Where the traced bundle lies beside the plain one: `workflows.js` → `workflows.traced.js`. */
export const tracedBundlePath = (file: string) => file.replace(/(\.js)?$/, '.traced.js');

/** Bundles ahead of time (webpack costs a worker seconds of CPU at every start): the plain bundle and, unless `plainOnly`, the traced one. */
export async function buildWorkflowBundles(file: string, opts: { plainOnly?: boolean } = {}): Promise<void> {
  writeFileSync(file, (await bundleWorkflows(false)).code);
  if (!opts.plainOnly) writeFileSync(tracedBundlePath(file), (await bundleWorkflows(true)).code);
}
