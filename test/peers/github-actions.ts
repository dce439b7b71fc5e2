/**
 * A SIMULATION of GitHub's REST API for GitHub Actions workflow runs, as docs.github.com documents it —
 * not GitHub. Tests point the real @octokit/rest at it: `new Octokit({ auth: sim.token, baseUrl: sim.url })`.
 *
 * - Auth: `Authorization: token|Bearer <sim.token>`; none → 401 `Requires authentication`, another → 401
 *   `Bad credentials`. Every answer carries `x-github-request-id` and `x-ratelimit-*`.
 * - `POST /repos/{o}/{r}/actions/workflows/{file|id}/dispatches` `{ref, inputs?, return_run_details?}`: 404
 *   for an unknown repo/workflow; 422 `No ref found for: <ref>`, `Unexpected inputs provided: ["x"]`,
 *   `Required input 'x' not provided`, more than 25 inputs; else the run is created, then 200
 *   `{workflow_run_id, run_url, html_url}` (return_run_details: true) or 204.
 * - `GET …/actions/workflows/{file|id}/runs` (and `…/actions/runs`): newest first; filters event, branch,
 *   status (a status or a conclusion), actor, head_sha, created (`>=X`, `>X`, `<=X`, `<X`, `X..Y`, a date);
 *   per_page/page with a `link` header. `GET …/actions/runs/{id}`, `…/runs/{id}/jobs`, `…/actions/jobs/{id}`.
 * - `GET …/actions/jobs/{id}/logs`: 404 until the job completed, then 302 to a one-minute signed URL on
 *   this server serving the log as text/plain: a UTF-8 BOM, then `<ISO time, 7 fraction digits>Z <text>`
 *   lines, as GitHub's. Each step is `##[group]Run <step name>`, `shell: …`, `##[endgroup]`, then the
 *   step's lines (after the endgroup, as on GitHub), then `##[error]Process completed with exit code 1.`
 *   for a failing step or `##[error]The operation was canceled.` for a cancelled one. Runner preamble
 *   lines (with an `##[group]Operating System` group) come first, `Cleaning up orphan processes` last.
 * - A job's steps, as the jobs API lists them, are GitHub's: `Set up job` (number 1), the workflow's
 *   steps, `Complete job`; a job not yet started (or never started) lists no steps.
 * - `POST …/actions/runs/{id}/cancel` → 202 `{}` (the run ends completed/cancelled one stepMs later);
 *   a completed run → 409 `Cannot cancel a workflow run that is completed.`
 */
export { startGitHubActionsSim, type GitHubActionsSim } from './github-actions/server.ts';
export type { SimJob, SimRun, SimStep, SimWorkflow } from './github-actions/model.ts';
