// cost-scan against the bare AWS SDK: an account of 5,000 running instances in moto (50 of them idle),
// scanned once as an OpsSight run (POST /api/v1/runs → run ended: workflow, activity, every Describe*
// page, CPU for all 5,000 through GetMetricData, Cost Explorer, findings counted into PostgreSQL) and
// once as the same SDK calls fetching the same pages with nothing done with them. Rounds alternate;
// medians are compared. Run: npm run bench (or node bench/cost-scan.ts).
import { CloudWatchClient, PutMetricDataCommand, paginateGetMetricData, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import { DescribeAddressesCommand, EC2Client, RunInstancesCommand, paginateDescribeInstances, paginateDescribeSnapshots, paginateDescribeVolumes } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startMoto } from '../test/peers/moto.ts';
import { startWorker } from '../workers/runtime.ts';
import { startBenchStack } from './peers.ts';
import { alternatingMedians, fmt, table } from './stats.ts';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 5000);
const IDLE = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const region = 'us-east-1';
const keys = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

const moto = await startMoto();
const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const config = loadConfig({ ...process.env, ...stack.env, WORKER_HOST_ID: 'bench' });
const worker = await startWorker(config, createLogger({ level: 'silent', name: 'bench-worker' }), { reconciler: false });
const aws = { region, endpoint: moto.url, credentials: { ...keys } };
try {
  const ec2 = new EC2Client(aws);
  const cloudwatch = new CloudWatchClient(aws);
  const ids: string[] = [];
  for (let n = 0; n < INSTANCES; n += 500) {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-03cf127a', InstanceType: 'm5.large', MinCount: 500, MaxCount: 500 }));
    ids.push(...out.Instances!.map((i) => i.InstanceId!));
  }
  const now = Date.now();
  for (let i = 0; i < ids.length; i += 500) {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: ids.slice(i, i + 500).map((id, k) => ({ MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: id }], Timestamp: new Date(now - 3_600_000), Value: i + k < IDLE ? 1 : 55, Unit: 'Percent' })) }));
  }

  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), admin.id);
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const json = (await res.json()) as { id?: string };
    if (res.status !== 201 || !json.id) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json.id;
  };
  const integration = await call('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'bench', settings: { regions: [region], endpoint: moto.url }, secrets: keys });

  const viaOpsSight = async () => {
    const id = await call('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration } });
    await api.deps.temporal.workflow.getHandle(id).result();
    const run = (await (await fetch(`${api.baseUrl}/api/v1/runs/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; summary?: { findings: { open: number } } };
    if (run.status !== 'succeeded' || run.summary?.findings.open !== IDLE) throw new Error(`run ${id} ended ${run.status} with ${JSON.stringify(run.summary?.findings)}`);
  };

  // The same pages with the bare clients: no findings, no database, no workflow.
  const viaSdk = async () => {
    const e = new EC2Client(aws);
    const c = new CloudWatchClient(aws);
    const ce = new CostExplorerClient({ ...aws, region: 'us-east-1' });
    const sts = new STSClient(aws);
    await sts.send(new GetCallerIdentityCommand({}));
    const running: string[] = [];
    for await (const p of paginateDescribeInstances({ client: e, pageSize: 1000 }, { Filters: [{ Name: 'instance-state-name', Values: ['running'] }] })) for (const r of p.Reservations ?? []) for (const i of r.Instances ?? []) running.push(i.InstanceId!);
    for (let i = 0; i < running.length; i += 500) {
      const queries: MetricDataQuery[] = running.slice(i, i + 500).map((id, n) => ({ Id: `q${n}`, MetricStat: { Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: id }] }, Period: 7 * 86_400, Stat: 'Average' } }));
      for await (const _ of paginateGetMetricData({ client: c }, { MetricDataQueries: queries, StartTime: new Date(Date.now() - 7 * 86_400_000), EndTime: new Date() }));
    }
    for await (const _ of paginateDescribeVolumes({ client: e, pageSize: 1000 }, { Filters: [{ Name: 'status', Values: ['available'] }] }));
    await e.send(new DescribeAddressesCommand({}));
    for await (const _ of paginateDescribeSnapshots({ client: e, pageSize: 1000 }, { OwnerIds: ['self'] }));
    const d = new Date();
    const day = (n: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), n)).toISOString().slice(0, 10);
    await ce.send(new GetCostAndUsageCommand({ TimePeriod: { Start: day(1), End: day(d.getUTCDate() + 1) }, Granularity: 'DAILY', Metrics: ['UnblendedCost'], GroupBy: [{ Type: 'DIMENSION', Key: 'SERVICE' }, { Type: 'TAG', Key: 'team' }] }));
    for (const x of [e, c, ce, sts]) x.destroy();
  };

  const { ours: o, baseline: s } = await alternatingMedians(ROUNDS, { baseline: viaSdk, ours: viaOpsSight });
  console.log(`cost-scan: ${INSTANCES} running instances in moto (${IDLE} idle), one region, median of ${ROUNDS} alternating rounds`);
  console.log(
    table([
      ['path', 'seconds'],
      ['bare SDK calls, same pages', fmt(s)],
      ['cost-scan run (API → run ended, findings stored)', fmt(o)],
      ['ratio run ÷ SDK (goal ≤ 1.5×)', `${fmt(o / s, 2)}×`],
    ]),
  );
} finally {
  await worker.shutdown();
  await stack.stop();
  await moto.stop();
}
process.exit(0);
