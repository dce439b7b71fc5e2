import type { PipelineSummary } from '../../../contracts/kinds/pipeline.ts';

/** The CI system's words for a job or stage, as the run page's badges colour them. */
const tone = (conclusion: string | null, status: string) => {
  const c = (conclusion ?? '').toLowerCase();
  if (c === 'success') return 'succeeded';
  if (c === 'failure' || c === 'unstable' || c === 'timed_out') return 'failed';
  if (c === 'cancelled' || c === 'aborted' || c === 'skipped' || c === 'not_built') return 'cancelled';
  return status === 'completed' ? 'cancelled' : 'running';
};

/**
 * A pipeline run's build: a link to it in GitHub Actions or Jenkins and how each job (stage) ended.
 * The address comes from the CI system's answer, so only an http(s) one becomes a link.
 */
export function RunPipeline({ summary }: { summary: PipelineSummary }) {
  const where = summary.provider === 'github' ? 'GitHub Actions' : 'Jenkins';
  const linkable = typeof summary.url === 'string' && /^https?:\/\//i.test(summary.url);
  return (
    <div class="card" data-testid="run-pipeline">
      <p>
        {summary.pipeline}
        {summary.build && (
          <>
            {' — '}
            {linkable ? (
              <a href={summary.url} target="_blank" rel="noopener noreferrer">
                build {summary.build} in {where}
              </a>
            ) : (
              `build ${summary.build} in ${where}`
            )}
          </>
        )}
        {!summary.build && <span class="muted"> — not triggered yet</span>}
      </p>
      {summary.jobs && summary.jobs.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{summary.provider === 'github' ? 'Jobs' : 'Stages'} of this build</caption>
            <thead>
              <tr>
                <th scope="col">{summary.provider === 'github' ? 'Job' : 'Stage'}</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {summary.jobs.map((j, i) => (
                <tr key={`${j.name}-${i}`} data-job={j.name}>
                  <th scope="row">{j.name}</th>
                  <td>
                    <span class={`badge badge-${tone(j.conclusion, j.status)}`}>{j.conclusion ?? j.status}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
