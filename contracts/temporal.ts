import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Approval, RunStatus } from './runs.ts';
import type { TerraformParams } from './kinds/terraform.ts';

/**
 * Each queue is served by workers holding only what its kinds need (credentials, binaries): `infra`
 * runs Terraform, Ansible and SSH; `delivery` deploys; `notifications` pages people; `scans` reads clouds.
 */
export const TASK_QUEUES = { infra: 'infra', delivery: 'delivery', notifications: 'notifications', scans: 'scans' } as const;
export type TaskQueue = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];

/**
 * The queue only the workers of one host poll, beside the shared one: a retry of a step whose process
 * still runs on that host (and writes its output to that host's disk) is sent there to follow it.
 */
export const hostTaskQueue = (taskQueue: string, hostId: string) => `${taskQueue}@${hostId}`;

/** A Terraform apply's step is named after its saved plan: the launch's step says which plan it applies. */
export const applyStepOf = (planId: string) => `apply-${planId}`;
export const planOfApplyStep = (step: string) => step.slice('apply-'.length);

export type DecisionInput = { userId: string; email: string; comment: string };
export type DecisionResult = { status: RunStatus };

/** Updates, so the caller learns at once whether the run was waiting (the validator refuses otherwise). */
export const approveUpdate = defineUpdate<DecisionResult, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<DecisionResult, [DecisionInput]>('reject');
export const stateQuery = defineQuery<{ status: RunStatus; step: string | null }>('state');
/**
 * The API's way to deliver a decision it has already recorded on the run row: a signal is accepted by
 * Temporal even while no worker runs, so the person is answered at once and the run goes on when a
 * worker is back. The Updates above serve clients that want the workflow's own validation.
 */
export const decisionSignal = defineSignal<[DecisionInput & { decision: 'approved' | 'rejected' }]>('decision');

/** Error type names an activity throws as non-retryable ApplicationFailures. */
export const FAILURE_TYPES = {
  stalePlan: 'StalePlan',
  terraform: 'TerraformFailed',
  invalidConfig: 'InvalidConfiguration',
  /** The step's process runs (or ran) on another host; details: [{ hostId }]. The workflow follows it there. */
  processOnHost: 'ProcessOnHost',
  /** What happened cannot be decided safely by the platform; the message tells a person what to check. */
  needsAttention: 'NeedsAttention',
  policy: 'PolicyViolation',
  deploy: 'DeployFailed',
  ansible: 'AnsibleFailed',
  /** A health or cost scan, or a cost action, that could not be done. */
  scan: 'ScanFailed',
  /** A CI pipeline that could not be triggered or followed, or whose build did not succeed. */
  pipeline: 'PipelineFailed',
} as const;

/**
 * Set by the API only when the starter may skip the approval (runs:approve on the team without
 * four-eyes, or the team's settings allow auto-apply for the kind). The workflow applies without
 * waiting for approval when this is present, and never because of params.autoApply alone.
 */
export type AutoApprove = { by: string; byEmail: string; reason: 'permission' | 'team-setting' };

/** What every kind's workflow is started with. */
export type RunInput<P = Record<string, unknown>> = {
  runId: string;
  teamId: string;
  params: P;
  /** Present only when the API verified the starter may apply without approval; `params.autoApply` alone never skips the gate. */
  autoApprove?: AutoApprove;
  /** How long to wait for an approver before ending the run as timed_out. */
  approvalTimeoutMs: number;
  /** How long a long activity may go without a heartbeat before another worker retries it (default 30 s). */
  heartbeatTimeoutMs?: number;
};
export type TerraformRunInput = RunInput<TerraformParams>;

/** What a workflow reports through the recordRunState activity. */
export type RecordRunStateInput = {
  runId: string;
  status?: RunStatus;
  step?: string | null;
  summary?: Record<string, unknown> | null;
  approval?: Approval | null;
  error?: string | null;
  /** Human-readable text for the event; a default is derived from the change. */
  message?: string;
};
