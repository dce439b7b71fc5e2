// The workflow bundle's entry: every workflow the infra worker runs.
export { terraformRun } from './terraform-run.ts';
export { deployRun } from './deploy-run.ts';
export { runReconciler } from './run-reconciler.ts';
