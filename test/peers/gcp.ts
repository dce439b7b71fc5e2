import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

/**
 * A simulation of the Google Cloud APIs a cost scan and a cost action call, as Google documents them
 * (no runnable Google Cloud exists): the OAuth 2.0 token endpoint (JWT bearer grant, verified against
 * the service account's public key), Compute Engine v1 (aggregatedList of instances, disks and
 * addresses; global snapshots; instances.stop; disks.createSnapshot and delete; addresses.delete;
 * zonal, regional and global operations with `wait`), Cloud Monitoring timeSeries.list, and BigQuery
 * jobs.query / getQueryResults over the billing export table. BigQuery SQL is not run: the peer checks
 * the query names the export table and its parameters, then answers the seeded billing rows. Lists
 * page two items (one time series) at a time; `unreachable` makes aggregatedList answer without a
 * scope's items, naming it in `unreachables`, as `returnPartialSuccess` does. `loseNextReply` carries
 * out the next change of a kind at once but answers it 503, as a dropped connection would. The state
 * is what the test seeds: known waste, simulated.
 */

export type GcpInstance = { zone: string; name: string; machineType: string; status: 'RUNNING' | 'STOPPING' | 'TERMINATED'; cpu?: number; labels?: Record<string, string> };
export type GcpDisk = { zone: string; name: string; type: string; sizeGb: number; users?: string[]; labels?: Record<string, string> };
/** `scope` is `regions/<region>` or `global`. */
export type GcpAddress = { scope: string; name: string; address: string; status: 'RESERVED' | 'IN_USE'; addressType?: 'EXTERNAL' | 'INTERNAL'; users?: string[]; labels?: Record<string, string> };
/** How long a snapshot whose reply was lost stays CREATING. */
const SNAPSHOT_LAG_MS = 3_000;

export type GcpSnapshot = { name: string; storageBytes: number; diskSizeGb: number; created: Date; status?: 'CREATING' | 'READY'; labels?: Record<string, string>; sourceDisk?: string };
/** One row of the billing export query's result: service, team, day, currency, cost. */
export type GcpBillingRow = [string, string, string, string, number];

export type GcpSeed = {
  project: string;
  clientEmail: string;
  publicKeyPem: string;
  billingTable: string;
  instances: GcpInstance[];
  disks: GcpDisk[];
  addresses: GcpAddress[];
  snapshots: GcpSnapshot[];
  billingRows: GcpBillingRow[];
};

const PAGE = 2;
const HOUR_MS = 3_600_000;

export async function startGcpPeer(seed: GcpSeed) {
  const publicKey = await importSPKI(seed.publicKeyPem, 'RS256');
  let url = '';
  const tokens = new Set<string>();
  const calls = { token: 0, stop: [] as string[], createSnapshot: [] as string[], diskDelete: [] as string[], addressDelete: [] as string[], queries: [] as Array<{ query: string; parameters: Record<string, unknown> }>, lostReplies: 0 };
  /** Changes whose next request is carried out at once while its reply is lost (a 503), as when a connection drops. */
  const loseReply = new Set<'stop' | 'createSnapshot' | 'diskDelete' | 'addressDelete'>();
  const lost = (kind: 'stop' | 'createSnapshot' | 'diskDelete' | 'addressDelete') => loseReply.delete(kind) && ++calls.lostReplies > 0;
  /** Scopes (`zones/<zone>`, `regions/<region>`) aggregatedList cannot reach, as during a zone's outage. */
  const unreachable = new Set<string>();

  const instances = new Map(seed.instances.map((i) => [i.name, { ...i, id: String(1_000_000 + Math.floor(Math.random() * 1e9)) }]));
  const disks = new Map(seed.disks.map((d) => [d.name, { ...d }]));
  const addresses = new Map(seed.addresses.map((a) => [a.name, { ...a }]));
  const snapshots = new Map(seed.snapshots.map((s) => [s.name, { status: 'READY' as const, ...s }]));
  const operations = new Map<string, { scope: string; apply: () => void; done: boolean }>();
  const jobs = new Set<string>();
  const p = seed.project;
  const compute = `/compute/v1/projects/${p}`;

  const instanceView = (i: GcpInstance & { id: string }) => ({
    kind: 'compute#instance', id: i.id, name: i.name, status: i.status, zone: `${url}${compute}/zones/${i.zone}`,
    machineType: `${url}${compute}/zones/${i.zone}/machineTypes/${i.machineType}`, ...(i.labels ? { labels: i.labels } : {}), creationTimestamp: '2026-01-05T10:00:00.000-08:00',
  });
  const diskView = (d: GcpDisk) => ({
    kind: 'compute#disk', id: String(d.name.length * 7919), name: d.name, sizeGb: String(d.sizeGb), zone: `${url}${compute}/zones/${d.zone}`, status: 'READY',
    type: `${url}${compute}/zones/${d.zone}/diskTypes/${d.type}`, ...(d.users?.length ? { users: d.users } : {}), ...(d.labels ? { labels: d.labels } : {}),
  });
  const addressView = (a: GcpAddress) => ({
    kind: 'compute#address', id: String(a.name.length * 104729), name: a.name, address: a.address, status: a.status, addressType: a.addressType ?? 'EXTERNAL',
    ...(a.scope !== 'global' ? { region: `${url}${compute}/${a.scope}` } : {}), ...(a.users?.length ? { users: a.users } : {}), ...(a.labels ? { labels: a.labels } : {}),
  });
  const snapshotView = (s: GcpSnapshot) => ({
    kind: 'compute#snapshot', id: String(s.name.length * 15485863), name: s.name, status: s.status, storageBytes: String(s.storageBytes), diskSizeGb: String(s.diskSizeGb),
    creationTimestamp: s.created.toISOString(), ...(s.labels ? { labels: s.labels } : {}), ...(s.sourceDisk ? { sourceDisk: s.sourceDisk } : {}),
  });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        const gError = (code: number, status: string, message: string, reason = status.toLowerCase()) => reply(code, { error: { code, message, status, errors: [{ message, domain: 'global', reason }] } });
        const unavailable = () => gError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'backendError');
        const u = new URL(req.url ?? '/', url);
        const path = decodeURIComponent(u.pathname);

        if (req.method === 'POST' && path === '/token') {
          calls.token++;
          const form = new URLSearchParams(raw);
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return reply(400, { error: 'unsupported_grant_type' });
          try {
            const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, { issuer: seed.clientEmail, audience: `${url}/token`, algorithms: ['RS256'] });
            if (!String(payload.scope).split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) return reply(400, { error: 'invalid_scope' });
          } catch {
            return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
          }
          const token = `ya29.${crypto.randomUUID()}`;
          tokens.add(token);
          return reply(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
        }
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !tokens.has(bearer)) return gError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.', 'authError');
        const [billingProject] = seed.billingTable.split('.');
        if (![p, billingProject].some((project) => path.includes(`/projects/${project}/`))) return gError(403, 'PERMISSION_DENIED', 'Permission denied on the project (or it may not exist).', 'forbidden');

        /** A Compute Engine operation, DONE when waited for (the change applied then). */
        const operation = (scope: string, target: string, apply: () => void) => {
          const name = `operation-${Date.now()}-${crypto.randomUUID().slice(0, 8)}`;
          operations.set(name, { scope, apply, done: false });
          return reply(200, { kind: 'compute#operation', name, status: 'RUNNING', targetLink: target, ...(scope.startsWith('zones/') ? { zone: `${url}${compute}/${scope}` } : scope.startsWith('regions/') ? { region: `${url}${compute}/${scope}` } : {}) });
        };
        const wait = /^\/compute\/v1\/projects\/[^/]+\/((?:zones|regions)\/[^/]+|global)\/operations\/([^/]+)\/wait$/.exec(path);
        if (req.method === 'POST' && wait) {
          const op = operations.get(wait[2]!);
          if (!op || op.scope !== wait[1]) return gError(404, 'NOT_FOUND', `The resource 'projects/${p}/${wait[1]}/operations/${wait[2]}' was not found`, 'notFound');
          if (!op.done) {
            op.done = true;
            op.apply();
          }
          return reply(200, { kind: 'compute#operation', name: wait[2], status: 'DONE', progress: 100 });
        }

        const paged = (items: unknown[]) => {
          const start = Number(u.searchParams.get('pageToken') ?? 0);
          return { slice: items.slice(start, start + PAGE), ...(start + PAGE < items.length ? { nextPageToken: String(start + PAGE) } : {}) };
        };
        const agg = /^\/compute\/v1\/projects\/[^/]+\/aggregated\/(instances|disks|addresses)$/.exec(path);
        if (req.method === 'GET' && agg) {
          const collection = agg[1]!;
          const all: Array<[string, unknown]> =
            collection === 'instances' ? [...instances.values()].map((i) => [`zones/${i.zone}`, instanceView(i)])
              : collection === 'disks' ? [...disks.values()].map((d) => [`zones/${d.zone}`, diskView(d)])
                : [...addresses.values()].map((a) => [a.scope, addressView(a)]);
          // With returnPartialSuccess an unreachable scope's items are left out and the scope is named in
          // `unreachables` (without it Google fails the whole list).
          const cut = [...unreachable];
          if (cut.length && u.searchParams.get('returnPartialSuccess') !== 'true') return unavailable();
          const { slice, nextPageToken } = paged(all.filter(([scope]) => !unreachable.has(scope)));
          const items: Record<string, Record<string, unknown[]>> = {};
          for (const [scope, item] of slice as Array<[string, unknown]>) (items[scope] ??= { [collection]: [] })[collection]!.push(item);
          return reply(200, { kind: `compute#${collection}AggregatedList`, id: `projects/${p}/aggregated/${collection}`, items, ...(nextPageToken ? { nextPageToken } : {}), ...(cut.length ? { unreachables: cut } : {}) });
        }
        if (req.method === 'GET' && path === `${compute}/global/snapshots`) {
          const { slice, nextPageToken } = paged([...snapshots.values()].map(snapshotView));
          return reply(200, { kind: 'compute#snapshotList', items: slice, ...(nextPageToken ? { nextPageToken } : {}) });
        }
        const snap = new RegExp(`^${compute}/global/snapshots/([^/]+)$`).exec(path);
        if (req.method === 'GET' && snap) {
          const s = snapshots.get(snap[1]!);
          return s ? reply(200, snapshotView(s)) : gError(404, 'NOT_FOUND', `The resource 'projects/${p}/global/snapshots/${snap[1]}' was not found`, 'notFound');
        }

        const inst = new RegExp(`^${compute}/zones/([^/]+)/instances/([^/]+)(/stop)?$`).exec(path);
        if (inst) {
          const i = instances.get(inst[2]!);
          if (!i || i.zone !== inst[1]) return gError(404, 'NOT_FOUND', `The resource 'projects/${p}/zones/${inst[1]}/instances/${inst[2]}' was not found`, 'notFound');
          if (req.method === 'GET' && !inst[3]) return reply(200, instanceView(i));
          if (req.method === 'POST' && inst[3]) {
            calls.stop.push(`projects/${p}/zones/${i.zone}/instances/${i.name}`);
            if (lost('stop')) {
              i.status = 'TERMINATED';
              return unavailable();
            }
            i.status = 'STOPPING';
            return operation(`zones/${i.zone}`, `${url}${path}`, () => (i.status = 'TERMINATED'));
          }
        }
        const disk = new RegExp(`^${compute}/zones/([^/]+)/disks/([^/]+)(/createSnapshot)?$`).exec(path);
        if (disk) {
          const d = disks.get(disk[2]!);
          if (!d || d.zone !== disk[1]) return gError(404, 'NOT_FOUND', `The resource 'projects/${p}/zones/${disk[1]}/disks/${disk[2]}' was not found`, 'notFound');
          if (req.method === 'GET' && !disk[3]) return reply(200, diskView(d));
          if (req.method === 'POST' && disk[3]) {
            const body = JSON.parse(raw) as { name?: string; labels?: Record<string, string> };
            if (!body.name || !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(body.name)) return gError(400, 'INVALID_ARGUMENT', "Invalid value for field 'resource.name'", 'invalid');
            if (snapshots.has(body.name)) return gError(409, 'ALREADY_EXISTS', `The resource 'projects/${p}/global/snapshots/${body.name}' already exists`, 'alreadyExists');
            calls.createSnapshot.push(body.name);
            const created: GcpSnapshot & { status: 'CREATING' | 'READY' } = { name: body.name, storageBytes: Math.round(d.sizeGb * 0.4 * 1024 ** 3), diskSizeGb: d.sizeGb, created: new Date(), status: 'CREATING', sourceDisk: `${url}${path.replace(/\/createSnapshot$/, '')}`, ...(body.labels ? { labels: body.labels } : {}) };
            snapshots.set(body.name, created);
            if (lost('createSnapshot')) {
              // As a large disk's: still being taken when the retry asks again.
              setTimeout(() => (created.status = 'READY'), SNAPSHOT_LAG_MS).unref();
              return unavailable();
            }
            return operation(`zones/${d.zone}`, `${url}${compute}/global/snapshots/${body.name}`, () => (created.status = 'READY'));
          }
          if (req.method === 'DELETE') {
            if (d.users?.length) return gError(400, 'FAILED_PRECONDITION', `The disk resource '${disk[2]}' is already being used by '${d.users[0]}'`, 'resourceInUseByAnotherResource');
            calls.diskDelete.push(`projects/${p}/zones/${d.zone}/disks/${d.name}`);
            if (lost('diskDelete')) {
              disks.delete(d.name);
              return unavailable();
            }
            return operation(`zones/${d.zone}`, `${url}${path}`, () => disks.delete(d.name));
          }
        }
        const address = new RegExp(`^${compute}/(regions/[^/]+|global)/addresses/([^/]+)$`).exec(path);
        if (address) {
          const a = addresses.get(address[2]!);
          if (!a || a.scope !== address[1]) return gError(404, 'NOT_FOUND', `The resource 'projects/${p}/${address[1]}/addresses/${address[2]}' was not found`, 'notFound');
          if (req.method === 'GET') return reply(200, addressView(a));
          if (req.method === 'DELETE') {
            if (a.status === 'IN_USE') return gError(400, 'FAILED_PRECONDITION', `The address resource '${a.name}' is already being used`, 'resourceInUseByAnotherResource');
            calls.addressDelete.push(`projects/${p}/${a.scope}/addresses/${a.name}`);
            if (lost('addressDelete')) {
              addresses.delete(a.name);
              return unavailable();
            }
            return operation(a.scope, `${url}${path}`, () => addresses.delete(a.name));
          }
        }

        if (req.method === 'GET' && path === `/v3/projects/${p}/timeSeries`) {
          if (u.searchParams.get('filter') !== 'metric.type = "compute.googleapis.com/instance/cpu/utilization"' || u.searchParams.get('aggregation.perSeriesAligner') !== 'ALIGN_MEAN' || u.searchParams.get('aggregation.alignmentPeriod') !== '3600s') {
            return gError(400, 'INVALID_ARGUMENT', 'this peer answers the hourly mean CPU utilization query only', 'badRequest');
          }
          const from = Date.parse(u.searchParams.get('interval.startTime') ?? '');
          const to = Date.parse(u.searchParams.get('interval.endTime') ?? '');
          // Cloud Monitoring keeps what each instance reported: the seeded level, hourly, for the two days before now.
          const series = [...instances.values()].filter((i) => i.cpu !== undefined).map((i) => ({
            metric: { type: 'compute.googleapis.com/instance/cpu/utilization', labels: { instance_name: i.name } },
            resource: { type: 'gce_instance', labels: { project_id: p, instance_id: i.id, zone: i.zone } },
            metricKind: 'GAUGE', valueType: 'DOUBLE',
            points: Array.from({ length: 48 }, (_, h) => Date.now() - h * HOUR_MS).filter((t) => t >= from && t <= to)
              .map((t) => ({ interval: { startTime: new Date(t).toISOString(), endTime: new Date(t).toISOString() }, value: { doubleValue: i.cpu! } })),
          }));
          const start = Number(u.searchParams.get('pageToken') ?? 0);
          return reply(200, { timeSeries: series.slice(start, start + 1), ...(start + 1 < series.length ? { nextPageToken: String(start + 1) } : {}), unit: '10^2.%' });
        }

        if (req.method === 'POST' && path === `/bigquery/v2/projects/${billingProject}/queries`) {
          const body = JSON.parse(raw) as { query?: string; useLegacySql?: boolean; queryParameters?: Array<{ name: string; parameterValue: { value?: string; arrayValues?: Array<{ value: string }> } }> };
          const parameters = Object.fromEntries((body.queryParameters ?? []).map((q) => [q.name, q.parameterValue.value ?? q.parameterValue.arrayValues?.map((v) => v.value)]));
          calls.queries.push({ query: body.query ?? '', parameters });
          if (body.useLegacySql !== false || !body.query?.includes(`\`${seed.billingTable}\``)) return gError(404, 'NOT_FOUND', `Not found: Table ${seed.billingTable.replace('.', ':')}`, 'notFound');
          if (!['tag', 'month', 'projects'].every((n) => n in parameters)) return gError(400, 'INVALID_ARGUMENT', 'Query parameter not found', 'invalidQuery');
          const jobId = `job_${crypto.randomUUID().replaceAll('-', '')}`;
          jobs.add(jobId);
          // A query that takes longer than the call: jobComplete false, getQueryResults to follow.
          return reply(200, { kind: 'bigquery#queryResponse', jobReference: { projectId: billingProject, jobId, location: 'US' }, jobComplete: false });
        }
        const results = new RegExp(`^/bigquery/v2/projects/${billingProject}/queries/([^/]+)$`).exec(path);
        if (req.method === 'GET' && results) {
          if (!jobs.has(results[1]!)) return gError(404, 'NOT_FOUND', `Not found: Job ${billingProject}:US.${results[1]}`, 'notFound');
          const last = calls.queries.at(-1)!;
          const rows = seed.billingRows.filter((r) => r[2].replaceAll('-', '').startsWith(String(last.parameters.month)));
          const start = Number(u.searchParams.get('pageToken') ?? 0);
          const schema = { fields: ['service', 'team', 'day', 'currency', 'cost'].map((name) => ({ name, type: name === 'cost' ? 'FLOAT' : 'STRING', mode: 'NULLABLE' })) };
          return reply(200, {
            kind: 'bigquery#getQueryResultsResponse', jobReference: { projectId: billingProject, jobId: results[1], location: 'US' }, jobComplete: true, schema, totalRows: String(rows.length),
            rows: rows.slice(start, start + PAGE).map((r) => ({ f: r.map((v) => ({ v: String(v) })) })), ...(start + PAGE < rows.length ? { pageToken: String(start + PAGE) } : {}),
          });
        }
        gError(404, 'NOT_FOUND', `no route for ${req.method} ${path}`, 'notFound');
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    loseNextReply: (kind: 'stop' | 'createSnapshot' | 'diskDelete' | 'addressDelete') => loseReply.add(kind),
    /** Makes aggregatedList leave a scope's items out and name it in `unreachables` (until `reachable`). */
    unreachable: (scope: string) => unreachable.add(scope),
    reachable: (scope: string) => unreachable.delete(scope),
    instance: (name: string) => instances.get(name),
    disk: (name: string) => disks.get(name),
    address: (name: string) => addresses.get(name),
    snapshot: (name: string) => snapshots.get(name),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
export type GcpPeer = Awaited<ReturnType<typeof startGcpPeer>>;
