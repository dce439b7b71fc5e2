import type { CostScanParams, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import { API_VERSIONS, type AzureClient } from './azure-client.ts';
import { azureMonthlyDisk, azureMonthlyPublicIp, azureMonthlySnapshot, azureMonthlyVm } from './pricing.ts';

const DAY_MS = 86_400_000;
/** Azure Monitor metrics are read one VM a call: this many calls at once. */
const METRIC_CALLS_AT_ONCE = 8;

type Rules = Pick<CostScanParams, 'idleCpuPercent' | 'idleDays' | 'snapshotAgeDays' | 'teamTag'>;
type Tagged = { id: string; name: string; location: string; tags?: Record<string, string> };
type Vm = Tagged & { properties?: { hardwareProfile?: { vmSize?: string }; instanceView?: { statuses?: Array<{ code?: string }> } } };
type Disk = Tagged & { sku?: { name?: string }; properties?: { diskState?: string; diskSizeGB?: number } };
type PublicIp = Tagged & { sku?: { name?: string }; properties?: { ipAddress?: string; publicIPAllocationMethod?: string; ipConfiguration?: unknown; natGateway?: unknown } };
type Snapshot = Tagged & { properties?: { timeCreated?: string; diskSizeGB?: number } };
export type AzureInventory = { vms: Vm[]; disks: Disk[]; publicIps: PublicIp[]; snapshots: Snapshot[] };

/** The power state of a VM's instance view (running, stopped, deallocated, …); statusOnly lists carry it. */
export const powerState = (statuses: Array<{ code?: string }> | undefined) => statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length) ?? 'unknown';

/** One subscription's VMs (with their power state: statusOnly=true), disks, public IPs and snapshots, every page. */
export async function azureInventory(azure: AzureClient, subscription: string): Promise<AzureInventory> {
  const all = async <T>(path: string, version: string) => {
    const out: T[] = [];
    for await (const item of azure.list<T>(path, version)) out.push(item);
    return out;
  };
  const sub = `/subscriptions/${subscription}`;
  const [vms, disks, publicIps, snapshots] = await Promise.all([
    all<Vm>(`${sub}/providers/Microsoft.Compute/virtualMachines?statusOnly=true`, API_VERSIONS.compute),
    all<Disk>(`${sub}/providers/Microsoft.Compute/disks`, API_VERSIONS.disks),
    all<PublicIp>(`${sub}/providers/Microsoft.Network/publicIPAddresses`, API_VERSIONS.network),
    all<Snapshot>(`${sub}/providers/Microsoft.Compute/snapshots`, API_VERSIONS.disks),
  ]);
  return { vms, disks, publicIps, snapshots };
}

/** Average of the hourly `Percentage CPU` averages over the window; undefined when Azure Monitor has no datapoint (not judged). */
async function averageCpu(azure: AzureClient, vmId: string, days: number, now: Date): Promise<number | undefined> {
  const timespan = `${new Date(now.getTime() - days * DAY_MS).toISOString()}/${now.toISOString()}`;
  const res = await azure.call<{ value?: Array<{ timeseries?: Array<{ data?: Array<{ average?: number }> }> }> }>(
    `${vmId}/providers/Microsoft.Insights/metrics?metricnames=${encodeURIComponent('Percentage CPU')}&timespan=${encodeURIComponent(timespan)}&interval=PT1H&aggregation=Average`,
    API_VERSIONS.metrics,
  );
  const values = (res.body.value?.[0]?.timeseries ?? []).flatMap((t) => t.data ?? []).map((d) => d.average).filter((v): v is number => typeof v === 'number');
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** Every priced piece of waste of one location in the inventories read. Read-only. */
export async function findAzureWaste(azure: AzureClient, inventories: AzureInventory[], location: string, rules: Rules, now = new Date()): Promise<ObservedFinding[]> {
  const here = <T extends Tagged>(xs: T[]) => xs.filter((x) => x.location.toLowerCase() === location);
  const team = (x: Tagged) => x.tags?.[rules.teamTag] ?? null;
  const found: ObservedFinding[] = [];
  const base = (x: Tagged) => ({ region: location, resourceId: x.id, team: team(x) });

  const vms = inventories.flatMap((i) => here(i.vms));
  const running = vms.filter((vm) => powerState(vm.properties?.instanceView?.statuses) === 'running');
  const cpu = await inBatches(running, METRIC_CALLS_AT_ONCE, (vm) => averageCpu(azure, vm.id, rules.idleDays, now));
  running.forEach((vm, n) => {
    const avg = cpu[n];
    if (avg === undefined || avg >= rules.idleCpuPercent) return;
    const size = vm.properties?.hardwareProfile?.vmSize ?? 'unknown';
    found.push({ type: 'idle-instance', ...base(vm), monthlySavings: azureMonthlyVm(size), detail: `${size} VM ${vm.name} running at ${avg.toFixed(1)}% CPU on average over ${rules.idleDays} day(s)` });
  });
  // Stopped from inside the guest, a VM keeps its compute allocated and billed until it is deallocated.
  for (const vm of vms.filter((v) => powerState(v.properties?.instanceView?.statuses) === 'stopped')) {
    const size = vm.properties?.hardwareProfile?.vmSize ?? 'unknown';
    found.push({ type: 'idle-instance', ...base(vm), monthlySavings: azureMonthlyVm(size), detail: `${size} VM ${vm.name} is stopped but not deallocated: its compute is still billed` });
  }

  for (const d of inventories.flatMap((i) => here(i.disks))) {
    if (d.properties?.diskState !== 'Unattached') continue;
    const sku = d.sku?.name ?? 'Premium_LRS';
    const size = d.properties.diskSizeGB ?? 0;
    found.push({ type: 'unattached-volume', ...base(d), monthlySavings: azureMonthlyDisk(sku, size), detail: `${size} GiB ${sku} disk ${d.name} attached to nothing` });
  }

  for (const ip of inventories.flatMap((i) => here(i.publicIps))) {
    if (ip.properties?.ipConfiguration || ip.properties?.natGateway) continue;
    // A Basic dynamic address that holds no IP costs nothing; Standard and static ones are billed by the hour.
    if (ip.sku?.name !== 'Standard' && ip.properties?.publicIPAllocationMethod !== 'Static') continue;
    found.push({ type: 'unused-address', ...base(ip), monthlySavings: azureMonthlyPublicIp(), detail: `public IP ${ip.name} (${ip.properties?.ipAddress ?? 'no address'}) associated with nothing` });
  }

  const cutoff = now.getTime() - rules.snapshotAgeDays * DAY_MS;
  for (const s of inventories.flatMap((i) => here(i.snapshots))) {
    const created = s.properties?.timeCreated ? Date.parse(s.properties.timeCreated) : NaN;
    if (!Number.isFinite(created) || created > cutoff) continue;
    const size = s.properties?.diskSizeGB ?? 0;
    found.push({ type: 'old-snapshot', ...base(s), monthlySavings: azureMonthlySnapshot(size), detail: `${size} GiB snapshot ${s.name} taken ${Math.floor((now.getTime() - created) / DAY_MS)} day(s) ago` });
  }
  return found;
}
