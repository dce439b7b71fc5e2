import { apiTime, type JobState, type Repo, type RunState, type Workflow } from './model.ts';

/** The JSON GitHub's REST API answers with for workflows, runs and jobs; `api` is the sim's URL. */
export function presenters(api: string) {
  const html = 'https://github.com';
  const idOf = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 90_000_000, 7) + 10_000_000;
  const user = (login: string, type = 'User') => {
    const id = idOf(login);
    return {
      login, id, node_id: `U_kgDO${id.toString(36).toUpperCase()}`, avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`, gravatar_id: '',
      url: `${api}/users/${login}`, html_url: `${html}/${login}`, type, site_admin: false,
    };
  };
  const repository = (repo: Repo) => ({
    id: repo.id, node_id: `R_kgDO${repo.id.toString(36).toUpperCase()}`, name: repo.fullName.split('/')[1], full_name: repo.fullName, private: true,
    owner: user(repo.fullName.split('/')[0]!, 'Organization'), html_url: `${html}/${repo.fullName}`, url: `${api}/repos/${repo.fullName}`,
  });
  const workflowName = (w: Workflow) => `.github/workflows/${w.file}`;
  const workflow = (w: Workflow) => ({
    id: w.id, node_id: `W_kwDO${w.id.toString(36).toUpperCase()}`, name: workflowName(w), path: `.github/workflows/${w.file}`, state: 'active',
    created_at: apiTime(w.createdMs), updated_at: apiTime(w.createdMs), url: `${api}/repos/${w.repo.fullName}/actions/workflows/${w.id}`,
    html_url: `${html}/${w.repo.fullName}/blob/main/.github/workflows/${w.file}`, badge_url: `${html}/${w.repo.fullName}/workflows/${encodeURIComponent(workflowName(w))}/badge.svg`,
  });
  const run = (r: RunState) => {
    const base = `${api}/repos/${r.repo.fullName}/actions/runs/${r.pub.id}`;
    const created = apiTime(r.createdMs);
    const checkSuite = r.pub.id + 1_000_000_000;
    return {
      id: r.pub.id, name: workflowName(r.workflow), node_id: `WFR_kwLO${r.pub.id.toString(36).toUpperCase()}`, head_branch: r.branch, head_sha: r.headSha,
      path: `.github/workflows/${r.workflow.file}`, display_title: workflowName(r.workflow), run_number: r.runNumber, event: 'workflow_dispatch',
      status: r.pub.status, conclusion: r.pub.conclusion, workflow_id: r.workflow.id, check_suite_id: checkSuite, check_suite_node_id: `CS_kwDO${checkSuite.toString(36).toUpperCase()}`,
      url: base, html_url: `${html}/${r.repo.fullName}/actions/runs/${r.pub.id}`, pull_requests: [], created_at: created, updated_at: apiTime(r.updatedMs),
      actor: user(r.pub.actor), run_attempt: 1, referenced_workflows: [], run_started_at: created, triggering_actor: user(r.pub.actor),
      jobs_url: `${base}/jobs`, logs_url: `${base}/logs`, check_suite_url: `${api}/repos/${r.repo.fullName}/check-suites/${checkSuite}`,
      artifacts_url: `${base}/artifacts`, cancel_url: `${base}/cancel`, rerun_url: `${base}/rerun`, previous_attempt_url: null,
      workflow_url: `${api}/repos/${r.repo.fullName}/actions/workflows/${r.workflow.id}`,
      head_commit: {
        id: r.headSha, tree_id: r.headSha.split('').reverse().join(''), message: 'Simulated commit', timestamp: created,
        author: { name: 'Sim Author', email: 'sim@example.com' }, committer: { name: 'GitHub', email: 'noreply@github.com' },
      },
      repository: repository(r.repo), head_repository: repository(r.repo),
    };
  };
  const time = (ms: number | undefined) => (ms === undefined ? null : apiTime(ms));
  const job = (r: RunState, j: JobState) => ({
    id: j.id, run_id: r.pub.id, workflow_name: workflowName(r.workflow), head_branch: r.branch, run_url: `${api}/repos/${r.repo.fullName}/actions/runs/${r.pub.id}`,
    run_attempt: 1, node_id: `CR_kwDO${j.id.toString(36).toUpperCase()}`, head_sha: r.headSha, url: `${api}/repos/${r.repo.fullName}/actions/jobs/${j.id}`,
    html_url: `${html}/${r.repo.fullName}/actions/runs/${r.pub.id}/job/${j.id}`, status: j.status, conclusion: j.conclusion,
    created_at: apiTime(j.createdMs), started_at: apiTime(j.startedMs ?? j.createdMs), completed_at: time(j.completedMs), name: j.name,
    // A job shows its steps once a runner has it; before that (and when it never ran) the list is empty.
    steps: j.ran ? j.steps.map((s) => ({ name: s.name, status: s.status, conclusion: s.conclusion, number: s.number, started_at: time(s.startedMs), completed_at: time(s.completedMs) })) : [],
    check_run_url: `${api}/repos/${r.repo.fullName}/check-runs/${j.id}`, labels: ['ubuntu-latest'],
    runner_id: j.ran ? 1 : null, runner_name: j.ran ? `GitHub Actions ${j.id % 1000}` : null, runner_group_id: j.ran ? 0 : null, runner_group_name: j.ran ? 'GitHub Actions' : null,
  });
  return { workflow, run, job };
}
