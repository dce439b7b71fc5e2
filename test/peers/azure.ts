import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A simulation of the Azure APIs a cost scan and a cost action call, as Microsoft documents them (no
 * runnable Azure exists): Entra ID's v2.0 token endpoint (client credentials), Resource Manager's
 * Microsoft.Compute virtualMachines (list with statusOnly=true, instanceView, deallocate), disks,
 * snapshots, Microsoft.Network publicIPAddresses, Azure Monitor metrics, and Microsoft.CostManagement
 * query and forecast. Lists page two items at a time through nextLink (with a $skiptoken), every call
 * needs an api-version and a token this peer issued, and long-running operations answer 201/202 with
 * Azure-AsyncOperation (or Location) that reads InProgress once before Succeeded, when the change is
 * made. `loseNextReply` carries out the next change of a kind at once but answers it 500, as a
 * dropped connection would. The state is what the test seeds: known waste, simulated.
 */

export type AzureVm = { rg: string; name: string; location: string; size: string; power: 'running' | 'stopped' | 'deallocating' | 'deallocated'; cpu?: number; tags?: Record<string, string> };
export type AzureDisk = { rg: string; name: string; location: string; sku: string; sizeGb: number; state: 'Unattached' | 'Attached' | 'Reserved'; tags?: Record<string, string> };
export type AzurePublicIp = { rg: string; name: string; location: string; sku: 'Basic' | 'Standard'; method: 'Static' | 'Dynamic'; ip?: string; nic?: string; tags?: Record<string, string> };
export type AzureSnapshot = { rg: string; name: string; location: string; sizeGb: number; created: Date; source?: string; state?: 'Creating' | 'Succeeded'; tags?: Record<string, string> };
/** One Cost Management row: Cost, UsageDate (yyyymmdd), ServiceName, TagKey, TagValue, Currency. */
export type AzureCostRow = [number, number, string, string, string, string];

export type AzureSeed = {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscription: string;
  vms: AzureVm[];
  disks: AzureDisk[];
  publicIps: AzurePublicIp[];
  snapshots: AzureSnapshot[];
  costRows: AzureCostRow[];
  /** What the forecast gives each day it is asked about. */
  forecastPerDay: number;
  currency: string;
};

const PAGE = 2;
const HOUR_MS = 3_600_000;

export async function startAzurePeer(seed: AzureSeed) {
  let url = '';
  const tokens = new Set<string>();
  /** Every change asked for, by kind, with the resource id: the test counts them. */
  const calls = { token: 0, deallocate: [] as string[], snapshotPut: [] as string[], diskDelete: [] as string[], publicIpDelete: [] as string[], costQueries: [] as unknown[], lostReplies: 0 };
  /** Changes whose next request is carried out at once while its reply is lost (a 500), as when a connection drops. */
  const loseReply = new Set<'deallocate' | 'diskDelete' | 'publicIpDelete'>();
  /** Changes a test waits to see asked for (onNextChange), each answered once. */
  const changeWaiters = new Map<string, () => void>();
  const lost = (kind: 'deallocate' | 'diskDelete' | 'publicIpDelete') => {
    changeWaiters.get(kind)?.();
    changeWaiters.delete(kind);
    return loseReply.delete(kind) && ++calls.lostReplies > 0;
  };
  const vms = new Map(seed.vms.map((v) => [v.name, { ...v }]));
  const disks = new Map(seed.disks.map((d) => [d.name, { ...d }]));
  const ips = new Map(seed.publicIps.map((p) => [p.name, { ...p }]));
  const snapshots = new Map(seed.snapshots.map((s) => [s.name, { state: 'Succeeded' as const, ...s }]));
  /** Long-running operations: polled once InProgress, then done (the change applied at that moment). */
  const operations = new Map<string, { polls: number; via: 'async' | 'location'; apply: () => void }>();

  const sub = `/subscriptions/${seed.subscription}`;
  const idOf = (rg: string, type: string, name: string) => `${sub}/resourceGroups/${rg}/providers/${type}/${name}`;
  const vmView = (v: AzureVm) => ({
    id: idOf(v.rg, 'Microsoft.Compute/virtualMachines', v.name), name: v.name, type: 'Microsoft.Compute/virtualMachines', location: v.location, ...(v.tags ? { tags: v.tags } : {}),
    properties: { hardwareProfile: { vmSize: v.size }, provisioningState: 'Succeeded', instanceView: { statuses: [{ code: 'ProvisioningState/succeeded' }, { code: `PowerState/${v.power}` }] } },
  });
  const diskView = (d: AzureDisk) => ({
    id: idOf(d.rg, 'Microsoft.Compute/disks', d.name), name: d.name, type: 'Microsoft.Compute/disks', location: d.location, sku: { name: d.sku, tier: d.sku.split('_')[0] }, ...(d.tags ? { tags: d.tags } : {}),
    properties: { diskSizeGB: d.sizeGb, diskState: d.state, provisioningState: 'Succeeded' },
  });
  const ipView = (p: AzurePublicIp) => ({
    id: idOf(p.rg, 'Microsoft.Network/publicIPAddresses', p.name), name: p.name, type: 'Microsoft.Network/publicIPAddresses', location: p.location, sku: { name: p.sku }, ...(p.tags ? { tags: p.tags } : {}),
    properties: { publicIPAllocationMethod: p.method, ...(p.ip ? { ipAddress: p.ip } : {}), ...(p.nic ? { ipConfiguration: { id: `${p.nic}/ipConfigurations/ipconfig1` } } : {}), provisioningState: 'Succeeded' },
  });
  const snapView = (s: AzureSnapshot) => ({
    id: idOf(s.rg, 'Microsoft.Compute/snapshots', s.name), name: s.name, type: 'Microsoft.Compute/snapshots', location: s.location, ...(s.tags ? { tags: s.tags } : {}),
    properties: { diskSizeGB: s.sizeGb, timeCreated: s.created.toISOString(), provisioningState: s.state, ...(s.source ? { creationData: { createOption: 'Copy', sourceResourceId: s.source } } : {}) },
  });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }).end(body !== undefined ? JSON.stringify(body) : undefined);
      const armError = (status: number, code: string, message: string) => reply(status, { error: { code, message } });
      const u = new URL(req.url ?? '/', url);
      const path = decodeURIComponent(u.pathname);

      const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
      if (req.method === 'POST' && token) {
        calls.token++;
        const form = new URLSearchParams(raw);
        if (token[1] !== seed.tenantId) return reply(400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${token[1]}' not found.` });
        if (form.get('grant_type') !== 'client_credentials') return reply(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: The app requested an unsupported grant type.' });
        if (form.get('client_id') !== seed.clientId) return reply(400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.` });
        if (form.get('client_secret') !== seed.clientSecret) return reply(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0' });
        if (form.get('scope') !== `${url}/.default`) return reply(400, { error: 'invalid_scope', error_description: `AADSTS70011: The provided value for scope ${form.get('scope')} is not valid.` });
        const issued = `eyJ0eXAi.${crypto.randomUUID()}`;
        tokens.add(issued);
        return reply(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issued });
      }

      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !tokens.has(bearer)) return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
      const apiVersion = u.searchParams.get('api-version');
      if (!apiVersion) return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");

      /** A long-running operation: 201/202 now, its status URL polled later. */
      const accepted = (status: number, body: unknown, apply: () => void, via: 'async' | 'location' = 'async') => {
        const opId = crypto.randomUUID();
        operations.set(opId, { polls: 0, via, apply });
        const statusUrl = `${url}${sub}/providers/Microsoft.Compute/locations/westeurope/operations/${opId}?api-version=${apiVersion}`;
        return reply(status, body, { [via === 'async' ? 'Azure-AsyncOperation' : 'Location']: statusUrl, 'Retry-After': '0' });
      };
      const op = /\/operations\/([0-9a-f-]{36})$/.exec(path);
      if (req.method === 'GET' && op) {
        const o = operations.get(op[1]!);
        if (!o) return armError(404, 'NotFound', 'operation not found');
        // An Azure-AsyncOperation URL answers a status document; a Location URL answers 202 until done.
        if (o.polls++ === 0) return o.via === 'async' ? reply(200, { status: 'InProgress' }, { 'Retry-After': '0' }) : reply(202, undefined, { 'Retry-After': '0' });
        if (o.polls === 2) o.apply();
        return o.via === 'async' ? reply(200, { status: 'Succeeded' }) : reply(204);
      }

      const page = (items: unknown[]) => {
        const skip = Number(u.searchParams.get('$skiptoken') ?? 0);
        const next = skip + PAGE < items.length ? new URL(u) : null;
        next?.searchParams.set('$skiptoken', String(skip + PAGE));
        return reply(200, { value: items.slice(skip, skip + PAGE), ...(next ? { nextLink: next.toString() } : {}) });
      };
      if (path.startsWith(sub) === false) return armError(404, 'SubscriptionNotFound', `The subscription '${path.split('/')[2]}' could not be found.`);
      if (req.method === 'GET' && path === `${sub}/providers/Microsoft.Compute/virtualMachines`) {
        // Without statusOnly a list carries no instance view: the caller must ask for it.
        const withStatus = u.searchParams.get('statusOnly') === 'true';
        return page([...vms.values()].map(vmView).map((v) => (withStatus ? v : { ...v, properties: { ...v.properties, instanceView: undefined } })));
      }
      if (req.method === 'GET' && path === `${sub}/providers/Microsoft.Compute/disks`) return page([...disks.values()].map(diskView));
      if (req.method === 'GET' && path === `${sub}/providers/Microsoft.Compute/snapshots`) return page([...snapshots.values()].map(snapView));
      if (req.method === 'GET' && path === `${sub}/providers/Microsoft.Network/publicIPAddresses`) return page([...ips.values()].map(ipView));

      const cost = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.CostManagement\/(query|forecast)$/.exec(path);
      if (req.method === 'POST' && cost) {
        const body = JSON.parse(raw) as { type?: string; timeframe?: string; timePeriod?: { from: string; to: string }; dataset?: { granularity?: string; aggregation?: Record<string, { name: string; function: string }>; grouping?: Array<{ type: string; name: string }> } };
        calls.costQueries.push(body);
        if (body.type !== 'ActualCost' || body.dataset?.granularity !== 'Daily' || body.dataset.aggregation?.totalCost?.name !== 'Cost') return armError(400, 'BadRequest', 'Invalid query definition.');
        if (cost[1] === 'query') {
          if (body.timeframe !== 'MonthToDate') return armError(400, 'BadRequest', 'this peer answers MonthToDate queries only');
          const tag = body.dataset.grouping?.find((g) => g.type === 'TagKey')?.name;
          const rows = seed.costRows.map(([c, d, s, k, v, cur]) => [c, d, s, k === tag ? k : '', k === tag ? v : '', cur]);
          const skip = Number(u.searchParams.get('$skiptoken') ?? 0);
          const next = skip + PAGE < rows.length ? `${url}${path}?api-version=${apiVersion}&$skiptoken=${skip + PAGE}` : null;
          const columns = [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'ServiceName', type: 'String' }, { name: 'TagKey', type: 'String' }, { name: 'TagValue', type: 'String' }, { name: 'Currency', type: 'String' }];
          return reply(200, { id: `${path}/${crypto.randomUUID()}`, type: 'Microsoft.CostManagement/query', properties: { nextLink: next, columns, rows: rows.slice(skip, skip + PAGE) } });
        }
        if (body.timeframe !== 'Custom' || !body.timePeriod) return armError(400, 'BadRequest', 'a forecast needs a Custom time period');
        const rows: unknown[][] = [];
        for (let t = Date.parse(body.timePeriod.from); t <= Date.parse(body.timePeriod.to); t += 24 * HOUR_MS) {
          rows.push([seed.forecastPerDay, Number(new Date(t).toISOString().slice(0, 10).replaceAll('-', '')), 'Forecast', seed.currency]);
        }
        const columns = [{ name: 'Cost', type: 'Number' }, { name: 'UsageDate', type: 'Number' }, { name: 'CostStatus', type: 'String' }, { name: 'Currency', type: 'String' }];
        return reply(200, { id: `${path}/${crypto.randomUUID()}`, type: 'Microsoft.CostManagement/forecast', properties: { nextLink: null, columns, rows } });
      }

      const res1 = new RegExp(`^${sub}/resourceGroups/([^/]+)/providers/(Microsoft\\.Compute/virtualMachines|Microsoft\\.Compute/disks|Microsoft\\.Compute/snapshots|Microsoft\\.Network/publicIPAddresses)/([^/]+)(/.*)?$`, 'i').exec(path);
      if (!res1) return armError(404, 'InvalidResourceType', `no route for ${req.method} ${path}`);
      const [, rg, type, name, rest = ''] = res1 as unknown as [string, string, string, string, string | undefined];
      const notFound = () => armError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${rg}' was not found.`);

      if (/virtualMachines$/i.test(type)) {
        const vm = vms.get(name);
        if (!vm || vm.rg !== rg) return notFound();
        if (req.method === 'GET' && rest === '/instanceView') return reply(200, { statuses: vmView(vm).properties.instanceView.statuses });
        if (req.method === 'GET' && rest === '/providers/Microsoft.Insights/metrics') {
          if (u.searchParams.get('metricnames') !== 'Percentage CPU' || u.searchParams.get('aggregation') !== 'Average' || u.searchParams.get('interval') !== 'PT1H') return armError(400, 'BadRequest', 'unexpected metric query');
          const [from, to] = (u.searchParams.get('timespan') ?? '').split('/').map((t) => Date.parse(t));
          const data = [];
          // Azure Monitor keeps what the VM reported: the seeded level, hourly, for the two days before now.
          if (vm.cpu !== undefined) for (let h = 47; h >= 0; h--) {
            const at = Date.now() - h * HOUR_MS;
            if (at >= from! && at <= to!) data.push({ timeStamp: new Date(at).toISOString(), average: vm.cpu + (h % 3) * 0.5 });
          }
          return reply(200, { cost: 0, timespan: u.searchParams.get('timespan'), interval: 'PT1H', value: [{ id: `${path}/Percentage CPU`, type: 'Microsoft.Insights/metrics', name: { value: 'Percentage CPU', localizedValue: 'Percentage CPU' }, unit: 'Percent', timeseries: data.length ? [{ metadatavalues: [], data }] : [] }] });
        }
        if (req.method === 'POST' && rest === '/deallocate') {
          calls.deallocate.push(vmView(vm).id);
          if (lost('deallocate')) {
            vm.power = 'deallocated';
            return armError(500, 'InternalServerError', 'The server encountered an internal error.');
          }
          vm.power = 'deallocating';
          return accepted(202, undefined, () => (vm.power = 'deallocated'));
        }
        if (req.method === 'GET' && rest === '') return reply(200, vmView(vm));
      }
      if (/disks$/i.test(type) && rest === '') {
        const disk = disks.get(name);
        if (!disk || disk.rg !== rg) return req.method === 'DELETE' ? reply(204) : notFound();
        if (req.method === 'GET') return reply(200, diskView(disk));
        if (req.method === 'DELETE') {
          calls.diskDelete.push(diskView(disk).id);
          if (lost('diskDelete')) {
            disks.delete(name);
            return armError(500, 'InternalServerError', 'The server encountered an internal error.');
          }
          return accepted(202, undefined, () => disks.delete(name), 'location');
        }
      }
      if (/snapshots$/i.test(type) && rest === '') {
        const snap = snapshots.get(name);
        if (req.method === 'GET') return snap && snap.rg === rg ? reply(200, snapView(snap)) : notFound();
        if (req.method === 'PUT') {
          const body = JSON.parse(raw) as { location?: string; tags?: Record<string, string>; properties?: { creationData?: { createOption?: string; sourceResourceId?: string } } };
          const source = body.properties?.creationData?.sourceResourceId ?? '';
          const disk = disks.get(source.split('/').pop() ?? '');
          if (body.properties?.creationData?.createOption !== 'Copy' || !disk || diskView(disk).id.toLowerCase() !== source.toLowerCase()) return armError(400, 'InvalidParameter', 'creationData.sourceResourceId is not a disk');
          calls.snapshotPut.push(idOf(rg, 'Microsoft.Compute/snapshots', name));
          const created: AzureSnapshot & { state: 'Creating' | 'Succeeded' } = { rg, name, location: body.location ?? disk.location, sizeGb: disk.sizeGb, created: new Date(), source, state: 'Creating', ...(body.tags ? { tags: body.tags } : {}) };
          const existed = snapshots.has(name);
          snapshots.set(name, created);
          return accepted(existed ? 200 : 201, snapView(created), () => (created.state = 'Succeeded'));
        }
      }
      if (/publicIPAddresses$/i.test(type) && rest === '') {
        const ip = ips.get(name);
        if (!ip || ip.rg !== rg) return req.method === 'DELETE' ? reply(204) : notFound();
        if (req.method === 'GET') return reply(200, ipView(ip));
        if (req.method === 'DELETE') {
          if (ip.nic) return armError(400, 'PublicIPAddressInUse', `Public IP address ${name} can not be deleted since it is still allocated to resource ${ip.nic}.`);
          calls.publicIpDelete.push(ipView(ip).id);
          if (lost('publicIpDelete')) {
            ips.delete(name);
            return armError(500, 'InternalServerError', 'The server encountered an internal error.');
          }
          return accepted(202, undefined, () => ips.delete(name));
        }
      }
      return armError(405, 'MethodNotAllowed', `${req.method} ${path}${rest} is not simulated`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    loseNextReply: (kind: 'deallocate' | 'diskDelete' | 'publicIpDelete') => loseReply.add(kind),
    /** Resolves when the next change of this kind is asked for (before it is answered). */
    onNextChange: (kind: 'deallocate' | 'diskDelete' | 'publicIpDelete') => new Promise<void>((resolve) => changeWaiters.set(kind, resolve)),
    idOf: (rg: string, type: 'virtualMachines' | 'disks' | 'publicIPAddresses' | 'snapshots', name: string) => idOf(rg, `${type === 'publicIPAddresses' ? 'Microsoft.Network' : 'Microsoft.Compute'}/${type}`, name),
    vm: (name: string) => vms.get(name),
    disk: (name: string) => disks.get(name),
    publicIp: (name: string) => ips.get(name),
    snapshot: (name: string) => snapshots.get(name),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
export type AzurePeer = Awaited<ReturnType<typeof startAzurePeer>>;
