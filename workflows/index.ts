// The workflow bundle's entry: every workflow the infra worker runs.
export { terraformRun } from './terraform-run.ts';
export { ansibleRun } from './ansible-run.ts';
export { sshCommandRun } from './ssh-command-run.ts';
export { deployRun } from './deploy-run.ts';
export { runReconciler } from './run-reconciler.ts';
export { scheduledRun } from './scheduled-run.ts';
export { healthScanRun } from './health-scan-run.ts';
export { alertEscalation } from './escalation.ts';
export { costScanRun } from './cost-scan-run.ts';
export { costActionRun } from './cost-action-run.ts';
export { pipelineRun } from './pipeline-run.ts';
export { stopEndedLaunch } from './stop-ended-launch.ts';
