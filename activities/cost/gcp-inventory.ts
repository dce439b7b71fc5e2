import type { CostScanParams, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import type { GcpClient } from './gcp-client.ts';
import { gcpMonthlyDisk, gcpMonthlyIdleAddress, gcpMonthlyInstance, gcpMonthlySnapshot } from './pricing.ts';

const DAY_MS = 86_400_000;
const GIB = 1024 ** 3;

type Rules = Pick<CostScanParams, 'idleCpuPercent' | 'idleDays' | 'snapshotAgeDays' | 'teamTag'>;
type Labeled = { id: string; name: string; labels?: Record<string, string>; creationTimestamp?: string };
type Instance = Labeled & { status?: string; machineType?: string; zone?: string };
type Disk = Labeled & { users?: string[]; sizeGb?: string; type?: string; zone?: string };
type Address = Labeled & { status?: string; addressType?: string; address?: string; region?: string };
type Snapshot = Labeled & { storageBytes?: string; diskSizeGb?: string };
/** Where a resource is: `zones/europe-west1-b`, `regions/europe-west1` or `global` (aggregatedList's keys). */
type Placed<T> = T & { scope: string };
/** `unreachable`: the scopes aggregatedList could not read (a zone's outage), whose resources are missing from the lists. */
export type GcpInventory = { project: string; instances: Placed<Instance>[]; disks: Placed<Disk>[]; addresses: Placed<Address>[]; snapshots: Snapshot[]; cpu: Map<string, number>; unreachable: string[] };

/** The region of an aggregatedList scope: a zone's region is its name without the zone letter. */
export const regionOfScope = (scope: string) => (scope === 'global' ? 'global' : scope.split('/')[1]!.replace(/-[a-z]$/, ''));

/**
 * The scope an `unreachables` entry names. Google documents the field only as "unreachable resources",
 * so the scope is read from wherever it appears in the entry (`zones/x`, a path or a URL ending so).
 */
function scopeIn(entry: string): string | undefined {
  const m = /(?:^|\/)((?:zones|regions)\/[a-z0-9-]+|global)(?:\/|$)/.exec(entry);
  return m?.[1];
}

type ScopedList<T> = Record<string, T[] | undefined> & { warning?: { code?: string } };

/**
 * Every item of an aggregatedList, every page, with the scope it was listed under, and the scopes
 * Google could not reach (returnPartialSuccess answers without their items rather than failing the
 * list): what is missing there was not seen, not gone.
 */
async function aggregated<T>(gcp: GcpClient, project: string, collection: string): Promise<{ items: Placed<T>[]; unreachable: string[] }> {
  const out: Placed<T>[] = [];
  const unreachable = new Set<string>();
  let pageToken: string | undefined;
  do {
    const q = new URLSearchParams({ maxResults: '500', returnPartialSuccess: 'true', ...(pageToken ? { pageToken } : {}) });
    const page = (await gcp.call<{ items?: Record<string, ScopedList<T>>; nextPageToken?: string; unreachables?: string[] }>(`${gcp.compute}/projects/${project}/aggregated/${collection}?${q}`)).body;
    for (const [scope, group] of Object.entries(page.items ?? {})) {
      if (group.warning?.code === 'UNREACHABLE') unreachable.add(scope);
      for (const item of group[collection] ?? []) out.push({ ...item, scope });
    }
    for (const entry of page.unreachables ?? []) {
      const scope = scopeIn(entry);
      // Not knowing where the hole is, no region of this scan can be trusted to be complete: the
      // activity's retry (the error is retryable) reads the project again.
      if (!scope) throw new Error(`Google Cloud could not list ${collection} of project ${project} in ${entry}; scanning again`);
      unreachable.add(scope);
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { items: out, unreachable: [...unreachable] };
}

async function snapshots(gcp: GcpClient, project: string): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  let pageToken: string | undefined;
  do {
    const q = new URLSearchParams({ maxResults: '500', ...(pageToken ? { pageToken } : {}) });
    const page = (await gcp.call<{ items?: Snapshot[]; nextPageToken?: string }>(`${gcp.compute}/projects/${project}/global/snapshots?${q}`)).body;
    out.push(...(page.items ?? []));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/**
 * Average CPU utilization (percent) of every instance of the project over the window, in one Cloud
 * Monitoring query (hourly means, every page); an instance with no points is left out (not judged).
 */
async function averageCpu(gcp: GcpClient, project: string, days: number, now: Date): Promise<Map<string, number>> {
  const values = new Map<string, number[]>();
  let pageToken: string | undefined;
  do {
    const q = new URLSearchParams({
      filter: 'metric.type = "compute.googleapis.com/instance/cpu/utilization"',
      'interval.startTime': new Date(now.getTime() - days * DAY_MS).toISOString(),
      'interval.endTime': now.toISOString(),
      'aggregation.alignmentPeriod': '3600s',
      'aggregation.perSeriesAligner': 'ALIGN_MEAN',
      ...(pageToken ? { pageToken } : {}),
    });
    const page = (await gcp.call<{ timeSeries?: Array<{ resource?: { labels?: Record<string, string> }; points?: Array<{ value?: { doubleValue?: number } }> }>; nextPageToken?: string }>(
      `${gcp.monitoring}/projects/${project}/timeSeries?${q}`,
    )).body;
    for (const series of page.timeSeries ?? []) {
      const id = series.resource?.labels?.instance_id;
      if (!id) continue;
      const points = (series.points ?? []).map((p) => p.value?.doubleValue).filter((v): v is number => typeof v === 'number');
      values.set(id, [...(values.get(id) ?? []), ...points]);
    }
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  // The metric is a fraction of the instance's vCPUs (0–1).
  return new Map([...values].filter(([, v]) => v.length).map(([id, v]) => [id, (v.reduce((a, b) => a + b, 0) / v.length) * 100]));
}

/** One project's instances, disks and addresses (aggregatedList), snapshots, and instances' CPU. Read-only. */
export async function gcpInventory(gcp: GcpClient, project: string, idleDays: number, now = new Date()): Promise<GcpInventory> {
  const [instances, disks, addresses, snaps, cpu] = await Promise.all([
    aggregated<Instance>(gcp, project, 'instances'),
    aggregated<Disk>(gcp, project, 'disks'),
    aggregated<Address>(gcp, project, 'addresses'),
    snapshots(gcp, project),
    averageCpu(gcp, project, idleDays, now),
  ]);
  return {
    project, instances: instances.items, disks: disks.items, addresses: addresses.items, snapshots: snaps, cpu,
    unreachable: [...new Set([...instances.unreachable, ...disks.unreachable, ...addresses.unreachable])],
  };
}

const last = (url: string | undefined) => url?.split('/').pop() ?? 'unknown';

/** Every priced piece of waste of one region (or `global`: global addresses and snapshots) in the inventories read. */
export function findGcpWaste(inventories: GcpInventory[], region: string, rules: Rules, now = new Date()): ObservedFinding[] {
  const found: ObservedFinding[] = [];
  const team = (x: Labeled) => x.labels?.[rules.teamTag] ?? null;
  for (const inv of inventories) {
    const here = <T>(xs: Placed<T>[]) => xs.filter((x) => regionOfScope(x.scope) === region);
    const path = (scope: string, collection: string, name: string) => `projects/${inv.project}/${scope}/${collection}/${name}`;
    for (const i of here(inv.instances)) {
      const avg = inv.cpu.get(i.id);
      if (i.status !== 'RUNNING' || avg === undefined || avg >= rules.idleCpuPercent) continue;
      const type = last(i.machineType);
      found.push({ type: 'idle-instance', region, resourceId: path(i.scope, 'instances', i.name), team: team(i), monthlySavings: gcpMonthlyInstance(type), detail: `${type} instance ${i.name} (${last(i.scope)}) running at ${avg.toFixed(1)}% CPU on average over ${rules.idleDays} day(s)` });
    }
    for (const d of here(inv.disks)) {
      if (d.users?.length) continue;
      const type = last(d.type);
      const size = Number(d.sizeGb ?? 0);
      found.push({ type: 'unattached-volume', region, resourceId: path(d.scope, 'disks', d.name), team: team(d), monthlySavings: gcpMonthlyDisk(type, size), detail: `${size} GB ${type} disk ${d.name} (${last(d.scope)}) attached to nothing` });
    }
    for (const a of here(inv.addresses)) {
      // Only a reserved external address is billed while unused; an internal one is free.
      if (a.status !== 'RESERVED' || (a.addressType ?? 'EXTERNAL') !== 'EXTERNAL') continue;
      found.push({ type: 'unused-address', region, resourceId: path(a.scope, 'addresses', a.name), team: team(a), monthlySavings: gcpMonthlyIdleAddress(), detail: `static address ${a.name} (${a.address ?? '?'}) reserved but in use by nothing` });
    }
    if (region !== 'global') continue;
    const cutoff = now.getTime() - rules.snapshotAgeDays * DAY_MS;
    for (const s of inv.snapshots) {
      const created = s.creationTimestamp ? Date.parse(s.creationTimestamp) : NaN;
      if (!Number.isFinite(created) || created > cutoff) continue;
      const gb = Math.round((Number(s.storageBytes ?? 0) / GIB) * 100) / 100;
      found.push({ type: 'old-snapshot', region, resourceId: `projects/${inv.project}/global/snapshots/${s.name}`, team: team(s), monthlySavings: gcpMonthlySnapshot(gb), detail: `snapshot ${s.name} storing ${gb} GB, taken ${Math.floor((now.getTime() - created) / DAY_MS)} day(s) ago` });
    }
  }
  return found;
}
