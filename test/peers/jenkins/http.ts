import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Controller, Job, QueueItem, Run } from './model.ts';

/** The console without its hidden notes, as Jenkins' plain-text views (progressiveText, consoleText) serve it. */
const NOTE = new RegExp(`${String.fromCharCode(27)}\\[8mha:[^${String.fromCharCode(27)}]*${String.fromCharCode(27)}\\[0m`, 'g');
const plain = (raw: Buffer) => Buffer.from(raw.toString('utf8').replace(NOTE, ''), 'utf8');

export type Route = 'trigger' | 'queue' | 'build' | 'log' | 'stop';
export type Hold = { onCreated: (queueId: number) => void; mode: 'hold' | 'release' | 'drop'; send?: () => void; res?: http.ServerResponse };
export type Controls = { failures: Map<Route, number[]>; holds: Hold[] };

/** Jenkins' error pages are HTML (Jetty's, or Jenkins' own "oops" page); clients only see the status and text. */
function errorPage(status: number, message: string) {
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n<title>Error ${status} ${message}</title>\n</head>\n<body><h2>HTTP ERROR ${status} ${message}</h2>\n<table>\n<tr><th>URI:</th><td></td></tr>\n<tr><th>STATUS:</th><td>${status}</td></tr>\n<tr><th>MESSAGE:</th><td>${message}</td></tr>\n</table>\n</body>\n</html>\n`;
}

type Tree = Map<string, { sub: Tree | null; range: [number, number | undefined] | null }>;

/** The `tree=` query of the remote API: `a,b[c,d]{0,5}` (a range applies to an array). */
function parseTree(s: string): Tree {
  let i = 0;
  const list = (): Tree => {
    const out: Tree = new Map();
    while (i < s.length) {
      let name = '';
      while (i < s.length && !'[]{},'.includes(s[i]!)) name += s[i++];
      let sub: Tree | null = null;
      let range: [number, number | undefined] | null = null;
      if (s[i] === '[') {
        i++;
        sub = list();
        i++;
      }
      if (s[i] === '{') {
        const end = s.indexOf('}', i);
        const [a, b] = s.slice(i + 1, end).split(',');
        range = b === undefined ? [Number(a), Number(a) + 1] : [a ? Number(a) : 0, b ? Number(b) : undefined];
        i = end + 1;
      }
      if (name.trim()) out.set(name.trim(), { sub, range });
      if (s[i] !== ',') break;
      i++;
    }
    return out;
  };
  return list();
}

/** Jenkins' tree filtering: only the named properties (and `_class`); an object named without a sub-tree shows only its `_class`. */
function prune(v: unknown, t: Tree | null): unknown {
  if (Array.isArray(v)) return v.map((x) => prune(x, t));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = '_class' in o ? { _class: o._class } : {};
  for (const [k, { sub, range }] of t ?? []) {
    if (!(k in o)) continue;
    const val = range && Array.isArray(o[k]) ? (o[k] as unknown[]).slice(range[0], range[1]) : o[k];
    out[k] = prune(val, sub);
  }
  return out;
}

async function formOf(req: http.IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(raw) : new URLSearchParams();
}

/**
 * The remote access API's request handler. Routes follow Stapler's URL binding as Jenkins exposes it:
 * `/job/<a>/job/<b>/…` for items in folders, `/<n>/` or a permalink (`lastBuild`…) for a build, `/queue/item/<id>/`.
 */
export function jenkinsHandler(ctl: Controller, auth: { user: string; token: string }, controls: Controls) {
  const session = randomBytes(4).toString('hex');
  const crumb = randomBytes(32).toString('hex');
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const form = await formOf(req);
    const param = (name: string) => url.searchParams.get(name) ?? form.get(name);
    const base = { 'x-jenkins': '2.479.1', 'x-hudson': '1.395', 'x-jenkins-session': session };
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...base, 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body);
    };
    const tree = param('tree');
    const json = (body: unknown, headers: Record<string, string> = {}) => send(200, JSON.stringify(tree ? prune(body, parseTree(tree)) : body), { 'content-type': 'application/json;charset=utf-8', ...headers });
    const fail = (status: number, message: string, headers: Record<string, string> = {}) => send(status, errorPage(status, message), { 'content-type': 'text/html;charset=utf-8', ...headers });
    const notFound = () => fail(404, 'Not Found');
    const post = () => {
      if (req.method === 'POST') return true;
      fail(405, 'Method Not Allowed'); // @RequirePOST
      return false;
    };
    const injected = (route: Route) => {
      const status = controls.failures.get(route)?.shift();
      if (status === undefined) return false;
      fail(status, status === 503 ? 'Service Unavailable' : status === 500 ? 'Server Error' : 'Injected failure');
      return true;
    };

    // Authentication: a request with no credentials is anonymous, and anonymous has no Overall/Read
    // here, so Jenkins answers 403 (it never challenges); wrong credentials are a 401 with a challenge.
    const header = req.headers.authorization;
    if (!header) {
      return fail(403, 'Forbidden', { 'x-you-are-authenticated-as': 'anonymous', 'x-you-are-in-group-disabled': 'JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose', 'x-required-permission': 'hudson.model.Hudson.Read', 'x-permission-implied-by': 'hudson.model.Hudson.Administer' });
    }
    const m = /^Basic\s+(\S+)$/i.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (!m || colon < 0) return fail(401, 'Malformed HTTP basic Authorization header', { 'www-authenticate': 'Basic realm="Jenkins"' });
    const [user, token] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    if (user !== auth.user || token !== auth.token) return fail(401, `Invalid password/token for user: ${user}`, { 'www-authenticate': 'Basic realm="Jenkins"' });

    const seg = url.pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const is = (...want: string[]) => seg.length === want.length && want.every((w, i) => w === '*' || w === seg[i]);

    if (is('api', 'json')) return json(ctl.containerJson(''));
    if (is('crumbIssuer', 'api', 'json')) {
      return json({ _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: 'Jenkins-Crumb' }, { 'set-cookie': `JSESSIONID.${session}=node0${session}.node0; Path=/; HttpOnly` });
    }
    if (seg[0] === 'queue') {
      if (is('queue', 'api', 'json')) {
        if (injected('queue')) return;
        return json({ _class: 'hudson.model.Queue', discoverableItems: [], items: ctl.items.filter((i) => !i.run && !i.cancelled).reverse().map((i) => ctl.itemJson(i, Boolean(tree))) });
      }
      if (is('queue', 'cancelItem')) {
        if (!post()) return;
        const id = Number(param('id'));
        const item = ctl.items.find((i) => i.id === id);
        if (!item) return fail(404, `Provided id (${param('id')}) not found`);
        return ctl.cancel(item) ? send(204, '') : fail(500, `Could not cancel run for id ${id}`);
      }
      const item: QueueItem | undefined = seg[1] === 'item' ? ctl.items.find((i) => String(i.id) === seg[2]) : undefined;
      if (!item) return notFound();
      if (is('queue', 'item', '*', 'api', 'json')) {
        if (injected('queue')) return;
        return json(ctl.itemJson(item, Boolean(tree)));
      }
      if (is('queue', 'item', '*', 'cancelQueue')) {
        if (!post()) return;
        ctl.cancel(item);
        return send(204, ''); // deprecated Queue.Item.doCancelQueue: 204 in current Jenkins
      }
      return notFound();
    }

    // Items: /job/a/job/b/<rest>
    const names: string[] = [];
    let i = 0;
    while (seg[i] === 'job' && seg[i + 1] !== undefined) {
      names.push(seg[i + 1]!);
      i += 2;
    }
    if (!names.length) return notFound();
    const path = names.join('/');
    const rest = seg.slice(i);
    const job = ctl.jobs.get(path);
    if (!job) {
      if (ctl.isFolder(path) && (rest.length === 0 || (rest.length === 2 && rest[0] === 'api' && rest[1] === 'json'))) return json(ctl.containerJson(path));
      return notFound();
    }
    if (rest.length === 0 || (rest.length === 2 && rest[0] === 'api' && rest[1] === 'json')) return json(ctl.jobJson(job, Boolean(tree)));
    if (rest.length === 1 && (rest[0] === 'build' || rest[0] === 'buildWithParameters')) {
      if (!post()) return;
      if (injected('trigger')) return;
      return trigger(job, rest[0] === 'buildWithParameters');
    }

    const run = runOf(job, rest[0]!);
    if (!run) return notFound();
    const tail = rest.slice(1).join('/');
    if (tail === '' || tail === 'api/json') {
      if (injected('build')) return;
      return json(ctl.runJson(run));
    }
    if (tail === 'logText/progressiveText') {
      if (injected('log')) return;
      // LargeText.doProgressText: bytes from `start` (0 if beyond the end: "rolled over"), the new offset
      // in X-Text-Size, and X-More-Data: true while the build may still write.
      let start = Number(param('start') ?? 0);
      if (!Number.isInteger(start)) return fail(500, `java.lang.NumberFormatException: For input string: "${param('start')}"`);
      if (start > run.log.length || start < 0) start = 0;
      const body = plain(run.log.subarray(start));
      res.writeHead(200, { ...base, 'content-type': 'text/plain;charset=utf-8', 'content-length': String(body.length), 'x-text-size': String(run.log.length), ...(run.building ? { 'x-more-data': 'true' } : {}) });
      return res.end(body);
    }
    if (tail === 'consoleText') {
      if (injected('log')) return;
      const body = plain(run.log);
      res.writeHead(200, { ...base, 'content-type': 'text/plain;charset=utf-8', 'content-length': String(body.length) });
      return res.end(body);
    }
    if (tail === 'stop') {
      if (!post()) return;
      if (injected('stop')) return;
      ctl.abort(run);
      // Run.doStop → Executor.doStop → HttpResponses.forwardToPreviousPage(): 302 to the Referer, else ".".
      return send(302, '', { location: req.headers.referer ?? ctl.runUrl(run) });
    }
    return notFound();

    function runOf(j: Job, id: string): Run | undefined {
      if (/^\d+$/.test(id)) return j.builds.find((b) => b.number === Number(id));
      const permalink = (ctl.jobJson(j) as Record<string, unknown>)[id];
      const n = id.startsWith('last') || id === 'firstBuild' ? (permalink as { number: number } | null)?.number : undefined;
      return n === undefined ? undefined : j.builds.find((b) => b.number === n);
    }

    function trigger(j: Job, withParameters: boolean) {
      const declared = Object.keys(j.def.parameters ?? {});
      let given: Record<string, string> = {};
      if (withParameters) {
        // ParameterizedJobMixIn.doBuildWithParameters
        if (!declared.length) return fail(400, `${j.path} is not parameterized`);
        for (const name of declared) {
          const v = param(name);
          if (v !== null) given[name] = v;
        }
      } else if (declared.length) {
        // doBuild on a parameterized job reads the structured form (`json`): without it, "Nothing is submitted".
        const raw = param('json');
        if (!raw) return fail(400, 'Nothing is submitted');
        try {
          const p = (JSON.parse(raw) as { parameter?: unknown }).parameter;
          given = Object.fromEntries((Array.isArray(p) ? p : p ? [p] : []).map((x: { name: string; value: unknown }) => [x.name, String(x.value ?? '')]));
        } catch {
          return fail(400, 'Failed to parse form data');
        }
      }
      const item = ctl.schedule(j, given);
      const answer = () => send(201, '', { location: `${ctl.root}/queue/item/${item.id}/` });
      const hold = controls.holds.shift();
      if (!hold) return answer();
      hold.onCreated(item.id);
      if (hold.mode === 'release') return answer();
      if (hold.mode === 'drop') return req.socket.destroy();
      hold.send = answer;
      hold.res = res;
    }
  };
}
