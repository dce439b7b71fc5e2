import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiTime, createEngine, sha, type JobState, type Repo, type RunState, type SimRun, type SimWorkflow, type Workflow } from './model.ts';
import { presenters } from './present.ts';

type Route = 'dispatch' | 'runs' | 'run' | 'jobs' | 'logs' | 'cancel';
export type GitHubActionsSim = {
  url: string;
  token: string;
  login: string;
  addRepo(repo: string, branches?: string[]): void;
  addWorkflow(repo: string, file: string, def: SimWorkflow): { id: number };
  runs(repo?: string): SimRun[];
  holdNextDispatchReply(): { created: Promise<SimRun>; release(): void; drop(): void };
  failNext(route: Route, status: number, times?: number): void;
  stop(): Promise<void>;
};

const DOCS = 'https://docs.github.com/rest/actions';
const docs: Record<string, string> = {
  dispatch: `${DOCS}/workflows#create-a-workflow-dispatch-event`, workflow: `${DOCS}/workflows#get-a-workflow`,
  runs: `${DOCS}/workflow-runs#list-workflow-runs-for-a-workflow`, run: `${DOCS}/workflow-runs#get-a-workflow-run`,
  jobs: `${DOCS}/workflow-jobs#list-jobs-for-a-workflow-run`, job: `${DOCS}/workflow-jobs#get-a-job-for-a-workflow-run`,
  logs: `${DOCS}/workflow-jobs#download-job-logs-for-a-workflow-run`, cancel: `${DOCS}/workflow-runs#cancel-a-workflow-run`,
};
const STATUSES = new Set(['queued', 'in_progress', 'completed', 'requested', 'waiting', 'pending']);
const sec = (ms: number) => Math.floor(ms / 1000) * 1000;

/** GitHub's `created` search qualifier: `>=X`, `>X`, `<=X`, `<X`, `X..Y` (`*` open), or one date / date-time. Dates are whole days. */
function createdMatches(spec: string, ms: number): boolean {
  const t = sec(ms);
  const at = (s: string, end: boolean) => (s === '*' ? (end ? Infinity : -Infinity) : /^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(`${s}T00:00:00Z`) + (end ? 86_399_999 : 0) : Date.parse(s));
  const range = /^(.+)\.\.(.+)$/.exec(spec);
  if (range) return t >= at(range[1]!, false) && t <= at(range[2]!, true);
  if (spec.startsWith('>=')) return t >= at(spec.slice(2), false);
  if (spec.startsWith('<=')) return t <= at(spec.slice(2), true);
  if (spec.startsWith('>')) return t > at(spec.slice(1), true);
  if (spec.startsWith('<')) return t < at(spec.slice(1), false);
  return t >= at(spec, false) && t <= at(spec, true);
}

/**
 * A SIMULATION of GitHub's REST API for GitHub Actions workflow runs (dispatch, list/get runs, jobs, job
 * logs, cancel) as docs.github.com documents it; see test/peers/github-actions.ts.
 */
export async function startGitHubActionsSim(opts: { stepMs?: number } = {}): Promise<GitHubActionsSim> {
  const stepMs = opts.stepMs ?? 100;
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const login = 'opssight-bot';
  const repos = new Map<string, Repo>();
  const workflows: Workflow[] = [];
  const allRuns: RunState[] = [];
  const blobs = new Map<string, { job: JobState; expires: number }>();
  const failures = new Map<Route, { status: number; left: number }[]>();
  type Hold = { resolve: (r: SimRun) => void; action?: 'release' | 'drop'; fire?: (a: 'release' | 'drop') => void };
  let hold: Hold | undefined;
  let nextRunId = 14_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  let nextJobId = 39_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  let used = 0;
  const resetAt = Math.floor(Date.now() / 1000) + 3600;
  const engine = createEngine(stepMs);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const headers: Record<string, string | number> = {
      server: 'github.com', 'x-github-request-id': Array.from({ length: 5 }, () => randomBytes(3).toString('hex').toUpperCase()).join(':'),
    };
    const send = (status: number, body?: unknown, extra: Record<string, string | number> = {}) => {
      if (body === undefined) return res.writeHead(status, { ...headers, ...extra }).end();
      res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', ...extra }).end(JSON.stringify(body));
    };
    const fail = (status: number, message: string, doc = 'https://docs.github.com/rest', extra: Record<string, string | number> = {}) =>
      send(status, { message, documentation_url: doc, status: String(status) }, extra);

    // The signed log blob the logs endpoint redirects to: no GitHub auth, a secret token, expiring.
    const blob = /^\/_blob\/job-logs\/(\d+)\.txt$/.exec(path);
    if (blob && req.method === 'GET') {
      const b = blobs.get(url.searchParams.get('sig') ?? '');
      if (!b || b.expires < Date.now() || String(b.job.id) !== blob[1]) {
        return res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>');
      }
      return res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`\uFEFF${b.job.log.join('\n')}\n`);
    }

    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!auth) return fail(401, req.headers.authorization ? 'Bad credentials' : 'Requires authentication', 'https://docs.github.com/rest', rateHeaders(60, 60));
    if (auth[1] !== token) return fail(401, 'Bad credentials', 'https://docs.github.com/rest', rateHeaders(60, 60));
    used++;
    Object.assign(headers, rateHeaders(5000, Math.max(0, 5000 - used)), { 'x-oauth-scopes': 'repo, workflow', 'x-github-api-version-selected': '2022-11-28', 'x-github-media-type': 'github.v3; format=json' });

    const m = /^\/repos\/([^/]+)\/([^/]+)\/actions\/(?:workflows\/([^/]+)\/(dispatches|runs)|workflows\/([^/]+)|runs|runs\/(\d+)(\/jobs|\/cancel)?|jobs\/(\d+)(\/logs)?)$/.exec(path);
    if (!m) return fail(404, 'Not Found');
    const [, owner, name, wfForAction, wfAction, wfOnly, runId, runAction, jobId, jobLogs] = m;
    const method = req.method ?? 'GET';
    let route: Route | 'workflow' | 'job';
    if (wfAction === 'dispatches') route = 'dispatch';
    else if (wfAction === 'runs' || (!wfOnly && !runId && !jobId)) route = 'runs';
    else if (wfOnly) route = 'workflow';
    else if (runId) route = runAction === '/jobs' ? 'jobs' : runAction === '/cancel' ? 'cancel' : 'run';
    else route = jobLogs ? 'logs' : 'job';
    if (method !== (route === 'dispatch' || route === 'cancel' ? 'POST' : 'GET')) return fail(404, 'Not Found', docs[route]);

    const queued = route !== 'workflow' && route !== 'job' ? failures.get(route)?.[0] : undefined;
    if (queued) {
      if (--queued.left <= 0) failures.get(route as Route)!.shift();
      return failWith(queued.status);
    }

    const repo = repos.get(`${decodeURIComponent(owner!)}/${decodeURIComponent(name!)}`.toLowerCase());
    if (!repo) return fail(404, 'Not Found', docs[route]);
    const wfKey = wfForAction ?? wfOnly;
    const wf = wfKey === undefined ? undefined : workflows.find((w) => w.repo === repo && (String(w.id) === wfKey || w.file === decodeURIComponent(wfKey)));
    if (wfKey !== undefined && !wf) return fail(404, 'Not Found', docs[route]);
    const run = runId ? allRuns.find((r) => r.repo === repo && String(r.pub.id) === runId) : undefined;
    if (runId && !run) return fail(404, 'Not Found', docs[route]);
    const jobRun = jobId ? allRuns.find((r) => r.repo === repo && r.jobs.some((j) => String(j.id) === jobId)) : undefined;
    const job = jobRun?.jobs.find((j) => String(j.id) === jobId);
    if (jobId && !job) return fail(404, 'Not Found', docs[route]);
    const present = presenters(base);

    switch (route) {
      case 'dispatch': {
        let body: { ref?: unknown; inputs?: unknown; return_run_details?: unknown };
        try {
          const raw = await readBody(req);
          body = raw ? (JSON.parse(raw) as typeof body) : {};
          if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
        } catch {
          return fail(400, 'Problems parsing JSON', docs.dispatch);
        }
        if (typeof body.ref !== 'string') return fail(422, `Invalid request.\n\n"ref" wasn't supplied.`, docs.dispatch);
        const given = body.inputs ?? {};
        if (typeof given !== 'object' || given === null || Array.isArray(given)) return fail(422, `Invalid request.\n\nFor 'properties/inputs', ${JSON.stringify(given)} is not an object.`, docs.dispatch);
        const names = Object.keys(given);
        if (names.length > 25) return fail(422, `Invalid request.\n\nNo more than 25 properties are allowed; ${names.length} were supplied.`, docs.dispatch);
        const branch = body.ref.replace(/^refs\/heads\//, '');
        const headSha = repo.branches.get(branch);
        if (!headSha) return fail(422, `No ref found for: ${body.ref}`, docs.dispatch);
        const declared = wf!.def.inputs ?? {};
        const unexpected = names.filter((n) => !(n in declared));
        if (unexpected.length) return fail(422, `Unexpected inputs provided: [${unexpected.map((n) => JSON.stringify(n)).join(', ')}]`, docs.dispatch);
        const inputs: Record<string, string> = {};
        for (const [n, d] of Object.entries(declared)) {
          const v = (given as Record<string, unknown>)[n];
          if (v !== undefined && v !== null) inputs[n] = String(v);
          else if (d.default !== undefined) inputs[n] = d.default;
          else if (d.required) return fail(422, `Required input '${n}' not provided`, docs.dispatch);
        }
        const r = createRun(repo, wf!, branch, headSha, inputs);
        const answer = () => (body.return_run_details === true
          ? send(200, { workflow_run_id: r.pub.id, run_url: `${base}/repos/${repo.fullName}/actions/runs/${r.pub.id}`, html_url: `https://github.com/${repo.fullName}/actions/runs/${r.pub.id}` })
          : send(204));
        const h = hold;
        if (!h) return answer();
        hold = undefined;
        let fired = false;
        h.fire = (a) => {
          if (fired) return;
          fired = true;
          if (a === 'release') answer();
          else req.socket.destroy();
        };
        h.resolve(r.pub);
        if (h.action) h.fire(h.action);
        return;
      }
      case 'workflow':
        return send(200, present.workflow(wf!));
      case 'runs': {
        const q = url.searchParams;
        const status = q.get('status');
        const list = allRuns.filter((r) => r.repo === repo && (!wf || r.workflow === wf)
          && (!q.get('event') || q.get('event') === 'workflow_dispatch')
          && (!q.get('branch') || q.get('branch') === r.branch)
          && (!q.get('actor') || q.get('actor')!.toLowerCase() === r.pub.actor.toLowerCase())
          && (!q.get('head_sha') || q.get('head_sha') === r.headSha)
          && (!status || (STATUSES.has(status) ? r.pub.status === status : r.pub.conclusion === status))
          && (!q.get('created') || createdMatches(q.get('created')!, r.createdMs))).reverse();
        const { items, link } = page(url, list);
        return send(200, { total_count: list.length, workflow_runs: items.map(present.run) }, link ? { link } : {});
      }
      case 'run':
        return send(200, present.run(run!));
      case 'jobs': {
        const { items, link } = page(url, run!.jobs);
        return send(200, { total_count: run!.jobs.length, jobs: items.map((j) => present.job(run!, j)) }, link ? { link } : {});
      }
      case 'job':
        return send(200, present.job(jobRun!, job!));
      case 'logs': {
        if (job!.status !== 'completed' || !job!.ran) return fail(404, 'Not Found', docs.logs);
        const sig = randomBytes(24).toString('base64url');
        const expires = Date.now() + 60_000;
        blobs.set(sig, { job: job!, expires });
        return send(302, undefined, { location: `${base}/_blob/job-logs/${job!.id}.txt?se=${encodeURIComponent(apiTime(expires))}&sig=${sig}`, 'content-length': 0 });
      }
      case 'cancel':
        if (run!.pub.status === 'completed') return fail(409, 'Cannot cancel a workflow run that is completed.', docs.cancel);
        engine.cancel(run!);
        return send(202, {});
    }

    function failWith(status: number) {
      if (status === 429) {
        return fail(status, `API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ${headers['x-github-request-id']}.`,
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api', { ...rateHeaders(5000, 0, Math.floor(Date.now() / 1000) + 1), 'retry-after': 1 });
      }
      const messages: Record<number, string> = { 403: 'Resource not accessible by personal access token', 404: 'Not Found', 409: 'Conflict', 422: 'Validation Failed', 500: 'Server Error', 502: 'Server Error', 503: 'Service Unavailable' };
      return fail(status, messages[status] ?? http.STATUS_CODES[status] ?? 'Error', docs[route]);
    }
  });

  function rateHeaders(limit: number, remaining: number, reset = resetAt) {
    return { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': remaining, 'x-ratelimit-reset': reset, 'x-ratelimit-used': limit - remaining, 'x-ratelimit-resource': 'core' };
  }
  /** `per_page` (default 30, at most 100) and `page`, with GitHub's `link` header (prev, next, last, first). */
  function page<T>(url: URL, all: T[]) {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page')) || 30));
    const n = Math.max(1, Number(url.searchParams.get('page')) || 1);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const to = (p: number) => {
      const u = new URL(url.pathname + url.search, base);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.href}>`;
    };
    const links = [...(n > 1 ? [`${to(n - 1)}; rel="prev"`] : []), ...(n < last ? [`${to(n + 1)}; rel="next"`, `${to(last)}; rel="last"`] : []), ...(n > 1 ? [`${to(1)}; rel="first"`] : [])];
    return { items: all.slice((n - 1) * perPage, n * perPage), link: links.join(', ') };
  }
  function createRun(repo: Repo, wf: Workflow, branch: string, headSha: string, inputs: Record<string, string>): RunState {
    const now = Date.now();
    const id = nextRunId++;
    const jobs: JobState[] = wf.def.jobs.map((j) => ({
      id: nextJobId++, name: j.name, status: 'queued', conclusion: null, createdMs: now, log: [], ran: false, current: 0,
      steps: [{ name: 'Set up job' }, ...j.steps.map((def) => ({ name: def.name, def })), { name: 'Complete job' }].map((s, i) => ({ ...s, number: i + 1, status: 'queued' as const, conclusion: null })),
    }));
    const r: RunState = {
      pub: { id, repo: repo.fullName, workflow: wf.file, ref: branch, inputs, status: 'queued', conclusion: null, cancelRequested: false, actor: login, createdAt: apiTime(now) },
      repo, workflow: wf, runNumber: ++wf.runs, headSha, branch, createdMs: now, updatedMs: now, jobs, current: 0,
    };
    allRuns.push(r);
    engine.begin(r);
    return r;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    token,
    login,
    addRepo(repo, branches = ['main']) {
      const key = repo.toLowerCase();
      const existing = repos.get(key) ?? { id: 700_000_000 + repos.size + 1, fullName: repo, branches: new Map<string, string>() };
      for (const b of branches) if (!existing.branches.has(b)) existing.branches.set(b, sha());
      repos.set(key, existing);
    },
    addWorkflow(repo, file, def) {
      const r = repos.get(repo.toLowerCase());
      if (!r) throw new Error(`addWorkflow: no repo ${repo} (addRepo it first)`);
      const w: Workflow = { id: 90_000_000 + workflows.length + 1, repo: r, file, def, createdMs: Date.now(), runs: 0 };
      workflows.push(w);
      return { id: w.id };
    },
    runs: (repo) => allRuns.filter((r) => !repo || r.repo.fullName.toLowerCase() === repo.toLowerCase()).map((r) => r.pub),
    holdNextDispatchReply() {
      let resolve!: (r: SimRun) => void;
      const created = new Promise<SimRun>((r) => (resolve = r));
      const h: Hold = { resolve };
      hold = h;
      const act = (a: 'release' | 'drop') => (h.fire ? h.fire(a) : (h.action = a));
      return { created, release: () => act('release'), drop: () => act('drop') };
    },
    failNext(route, status, times = 1) {
      failures.set(route, [...(failures.get(route) ?? []), { status, left: times }]);
    },
    stop: () => new Promise<void>((resolve) => {
      engine.stop();
      blobs.clear();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => resolve(raw));
    req.on('error', reject);
  });
}
