import { paginateGetMetricData, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { DescribeAddressesCommand, paginateDescribeInstances, paginateDescribeSnapshots, paginateDescribeVolumes, type Tag } from '@aws-sdk/client-ec2';
import type { CostScanParams, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import type { AwsClients } from './aws-clients.ts';
import { monthlyIdleAddress, monthlyInstance, monthlySnapshot, monthlyVolume } from './pricing.ts';

const DAY_MS = 86_400_000;
/** GetMetricData takes at most 500 queries a call. */
const METRIC_BATCH = 500;
const PAGE = { pageSize: 1000 };

type Rules = Pick<CostScanParams, 'idleCpuPercent' | 'idleDays' | 'snapshotAgeDays' | 'teamTag'> & { accountId: string };
const tagOf = (tags: Tag[] | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value ?? null;

/**
 * Average CPU per instance over the window; an instance CloudWatch has no datapoint for is left out (not
 * judged idle). One period spans the whole window, so each instance is one datapoint: hourly periods
 * returned 168 a week each (more pages), and cost moto time in proportion to periods × all datapoints
 * (at 5,000 instances a GetMetricData call took minutes and the bench's scan never ended).
 */
async function averageCpu(clients: AwsClients, region: string, instanceIds: string[], days: number, now: Date): Promise<Map<string, number>> {
  const averages = new Map<string, number>();
  for (let i = 0; i < instanceIds.length; i += METRIC_BATCH) {
    const batch = instanceIds.slice(i, i + METRIC_BATCH);
    // Query ids must start with a lower-case letter: the position in the batch names each instance.
    const queries: MetricDataQuery[] = batch.map((id, n) => ({
      Id: `q${n}`,
      MetricStat: { Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: id }] }, Period: days * 86_400, Stat: 'Average' },
      ReturnData: true,
    }));
    const values = new Map<string, number[]>();
    const pages = paginateGetMetricData({ client: clients.cloudwatch(region) }, { MetricDataQueries: queries, StartTime: new Date(now.getTime() - days * DAY_MS), EndTime: now });
    for await (const page of pages) {
      for (const r of page.MetricDataResults ?? []) {
        const id = batch[Number(r.Id?.slice(1))];
        if (id && r.Values?.length) values.set(id, [...(values.get(id) ?? []), ...r.Values]);
      }
    }
    for (const [id, v] of values) averages.set(id, v.reduce((a, b) => a + b, 0) / v.length);
  }
  return averages;
}

/** Every piece of waste in one region, priced. Read-only: Describe* and GetMetricData. */
export async function findWaste(clients: AwsClients, region: string, rules: Rules, now = new Date()): Promise<ObservedFinding[]> {
  const ec2 = { client: clients.ec2(region), ...PAGE };
  const found: ObservedFinding[] = [];

  const running: Array<{ id: string; type: string; team: string | null }> = [];
  for await (const page of paginateDescribeInstances(ec2, { Filters: [{ Name: 'instance-state-name', Values: ['running'] }] })) {
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) if (i.InstanceId) running.push({ id: i.InstanceId, type: i.InstanceType ?? 'unknown', team: tagOf(i.Tags, rules.teamTag) });
    }
  }
  const cpu = await averageCpu(clients, region, running.map((i) => i.id), rules.idleDays, now);
  for (const i of running) {
    const avg = cpu.get(i.id);
    if (avg === undefined || avg >= rules.idleCpuPercent) continue;
    found.push({ type: 'idle-instance', region, resourceId: i.id, team: i.team, monthlySavings: monthlyInstance(i.type), detail: `${i.type} running at ${avg.toFixed(1)}% CPU on average over ${rules.idleDays} day(s)` });
  }

  for await (const page of paginateDescribeVolumes(ec2, { Filters: [{ Name: 'status', Values: ['available'] }] })) {
    for (const v of page.Volumes ?? []) {
      if (!v.VolumeId) continue;
      const type = v.VolumeType ?? 'gp2';
      found.push({ type: 'unattached-volume', region, resourceId: v.VolumeId, team: tagOf(v.Tags, rules.teamTag), monthlySavings: monthlyVolume(type, v.Size ?? 0), detail: `${v.Size ?? 0} GiB ${type} volume attached to nothing` });
    }
  }

  // DescribeAddresses has no pages: an account has at most a few hundred addresses.
  const { Addresses = [] } = await clients.ec2(region).send(new DescribeAddressesCommand({}));
  for (const a of Addresses) {
    if (a.AssociationId || !a.AllocationId) continue;
    found.push({ type: 'unused-address', region, resourceId: a.AllocationId, team: tagOf(a.Tags, rules.teamTag), monthlySavings: monthlyIdleAddress(), detail: `Elastic IP ${a.PublicIp ?? a.AllocationId} associated with nothing` });
  }

  const cutoff = now.getTime() - rules.snapshotAgeDays * DAY_MS;
  for await (const page of paginateDescribeSnapshots(ec2, { OwnerIds: ['self'] })) {
    for (const s of page.Snapshots ?? []) {
      // Only the account's own: a shared or public snapshot (an AMI's) is not this account's to delete or pay for.
      if (!s.SnapshotId || !s.StartTime || s.StartTime.getTime() > cutoff || (s.OwnerId && s.OwnerId !== rules.accountId)) continue;
      const days = Math.floor((now.getTime() - s.StartTime.getTime()) / DAY_MS);
      found.push({ type: 'old-snapshot', region, resourceId: s.SnapshotId, team: tagOf(s.Tags, rules.teamTag), monthlySavings: monthlySnapshot(s.VolumeSize ?? 0), detail: `${s.VolumeSize ?? 0} GiB snapshot taken ${days} day(s) ago` });
    }
  }
  return found;
}
