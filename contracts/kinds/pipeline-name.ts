import type { PipelineParams } from './pipeline.ts';

// Apart from the schema: the workflow bundle uses it, and must not carry zod.
/** How a run names its pipeline: `github:<integration>/<owner/repo>/<workflow>@<ref>` or `jenkins:<integration>/<job>`. */
export const pipelineName = (p: PipelineParams) =>
  p.provider === 'github' ? `github:${p.integration}/${p.repository}/${p.workflow}@${p.ref}` : `jenkins:${p.integration}/${p.job}`;
