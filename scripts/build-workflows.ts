// `npm run build:workflows [file]`: the prebuilt workflow bundles a worker loads when WORKFLOW_BUNDLE
// names the plain one (the traced one lies beside it; the worker image builds both).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildWorkflowBundles, tracedBundlePath } from '../workers/bundle.ts';

const file = path.resolve(process.argv[2] ?? 'dist/workflows.js');
mkdirSync(path.dirname(file), { recursive: true });
await buildWorkflowBundles(file);
console.log(`workflow bundles written to ${file} and ${tracedBundlePath(file)}`);
