import { z } from 'zod';
import { TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

// Values go to the CI system as form fields or JSON strings: printable text, no NUL.
const value = z
  .string()
  .max(4096)
  .refine((v) => !v.includes('\0'), 'must not contain NUL characters')
  .meta({ pattern: '^[^\\u0000]*$' });
const paramName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/, 'a parameter name (letters, digits, "_", "." and "-")');

/** GitHub accepts at most 25 inputs on a workflow_dispatch. */
export const MAX_GITHUB_INPUTS = 25;

const common = {
  integration: z.uuid(),
  timeoutMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60).describe('the build is cancelled and the run ends timed_out after this long'),
  requireApproval: z.boolean().default(false).describe('wait for a person to approve before the pipeline is triggered'),
};

export const githubPipelineSchema = z.strictObject({
  provider: z.literal('github'),
  ...common,
  integration: common.integration.describe('the team\'s github integration'),
  repository: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'owner/name').describe('the repository, as owner/name'),
  workflow: z
    .string()
    .regex(/^([A-Za-z0-9._-]{1,200}\.ya?ml|[1-9][0-9]{0,18})$/, 'a workflow file name (ci.yml) or its numeric id')
    .describe('the workflow file under .github/workflows (ci.yml) or its numeric id; it must have a workflow_dispatch trigger'),
  ref: z.string().min(1).max(255).regex(/^[A-Za-z0-9._\-/]+$/, 'a branch or tag name').default('main').describe('the branch or tag to run on'),
  inputs: z
    .record(paramName, value)
    .refine((i) => Object.keys(i).length <= MAX_GITHUB_INPUTS, `at most ${MAX_GITHUB_INPUTS} inputs (GitHub's limit)`)
    // The refinement above, as the published JSON Schema says it.
    .meta({ maxProperties: MAX_GITHUB_INPUTS })
    .default({})
    .describe('workflow_dispatch inputs (name → value)'),
});

export const jenkinsPipelineSchema = z.strictObject({
  provider: z.literal('jenkins'),
  ...common,
  integration: common.integration.describe('the team\'s jenkins integration'),
  job: z
    .string()
    .regex(/^[^/\s][^/]{0,199}(\/[^/\s][^/]{0,199}){0,9}$/, 'a job path, folders separated by "/" (folder/name)')
    .refine((j) => !j.includes('\0'), 'must not contain NUL characters')
    .describe('the job, with its folders: folder/name'),
  parameters: z.record(paramName, value).default({}).describe('build parameters (name → value); OPSSIGHT_RUN_ID is set by the platform'),
});

export const pipelineParamsSchema = z.discriminatedUnion('provider', [githubPipelineSchema, jenkinsPipelineSchema]);
export type PipelineParams = z.infer<typeof pipelineParamsSchema>;
export type GitHubPipeline = z.infer<typeof githubPipelineSchema>;
export type JenkinsPipeline = z.infer<typeof jenkinsPipelineSchema>;
export type PipelineRunInput = RunInput<PipelineParams>;

/** The parameter a Jenkins job declares to get exactly-once triggering (docs/pipeline.md). */
export const RUN_ID_PARAMETER = 'OPSSIGHT_RUN_ID';

export { pipelineName } from './pipeline-name.ts';

/** The external build a run follows: GitHub's workflow run id or Jenkins' build number, and where a person sees it. */
export type PipelineBuild = { id: string; url: string };

/** One job (GitHub) or stage (Jenkins) as the summary lists it. */
export type PipelineJob = { name: string; status: string; conclusion: string | null };

export type PipelineSummary = {
  provider: 'github' | 'jenkins';
  pipeline: string;
  build?: string;
  url?: string;
  /** What the CI system said: success/failure/cancelled (GitHub), SUCCESS/FAILURE/UNSTABLE/ABORTED (Jenkins). */
  conclusion?: string | null;
  jobs?: PipelineJob[];
};

/** How a followed build ended, as the CI system reports it. */
export type PipelineEnd = { outcome: 'succeeded' | 'failed' | 'cancelled'; conclusion: string | null; jobs: PipelineJob[]; failedAt?: string };

export const pipelineKind = defineKind({
  kind: 'pipeline',
  title: 'CI pipeline',
  description: 'Triggers a GitHub Actions workflow or a Jenkins job exactly once, follows it to the end with its jobs and log lines, and cancels the build when the run is cancelled or times out.',
  paramsSchema: pipelineParamsSchema,
  workflowType: 'pipelineRun',
  taskQueue: TASK_QUEUES.delivery,
  // CI systems run two builds of one pipeline side by side (a build per commit); the platform does not
  // forbid what the CI system allows, and a pipeline that must not overlap says so in its own config
  // (GitHub `concurrency:`, Jenkins `disableConcurrentBuilds()`).
  target: () => null,
  integrations: (p) => [p.integration],
  approval: 'optional',
  summary: 'none',
});
