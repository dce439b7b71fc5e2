/**
 * The one place cost findings are priced (docs/costs.md explains the figures). On-demand list prices of
 * us-east-1 (USD), used for every region: a finding's saving is an estimate to rank waste by, not a bill.
 * A type missing here is priced by the family size rule below, never silently at zero.
 */
export const HOURS_PER_MONTH = 730;

/** Linux on-demand USD per hour. */
const INSTANCE_HOURLY: Record<string, number> = {
  't2.nano': 0.0058, 't2.micro': 0.0116, 't2.small': 0.023, 't2.medium': 0.0464, 't2.large': 0.0928,
  't3.nano': 0.0052, 't3.micro': 0.0104, 't3.small': 0.0208, 't3.medium': 0.0416, 't3.large': 0.0832, 't3.xlarge': 0.1664,
  'm5.large': 0.096, 'm5.xlarge': 0.192, 'm5.2xlarge': 0.384, 'm5.4xlarge': 0.768,
  'm6i.large': 0.096, 'm6i.xlarge': 0.192, 'c5.large': 0.085, 'c5.xlarge': 0.17, 'c5.2xlarge': 0.34,
  'r5.large': 0.126, 'r5.xlarge': 0.252,
};

/** USD per GB-month of provisioned EBS storage. */
const VOLUME_GB_MONTH: Record<string, number> = { gp2: 0.1, gp3: 0.08, io1: 0.125, io2: 0.125, st1: 0.045, sc1: 0.015, standard: 0.05 };

/** An Elastic IP not associated with a running instance: USD 0.005 an hour. */
const IDLE_ADDRESS_HOURLY = 0.005;
/** EBS snapshots (standard tier), USD per GB-month of the source volume's size (an upper bound of what the snapshot stores). */
const SNAPSHOT_GB_MONTH = 0.05;

const SIZE_FACTOR: Record<string, number> = { nano: 0.0625, micro: 0.125, small: 0.25, medium: 0.5, large: 1, xlarge: 2 };

/** An unknown type: its size scaled from a general-purpose `large` (0.096/h), so a new family still ranks sensibly. */
function hourlyOf(instanceType: string): number {
  const known = INSTANCE_HOURLY[instanceType];
  if (known !== undefined) return known;
  const size = instanceType.split('.')[1] ?? 'large';
  const m = /^(\d+)xlarge$/.exec(size);
  return 0.096 * (m ? 2 * Number(m[1]) : (SIZE_FACTOR[size] ?? 1));
}

const round = (usd: number) => Math.round(usd * 100) / 100;

export const monthlyInstance = (instanceType: string) => round(hourlyOf(instanceType) * HOURS_PER_MONTH);
export const monthlyVolume = (volumeType: string, sizeGb: number) => round((VOLUME_GB_MONTH[volumeType] ?? VOLUME_GB_MONTH.gp2!) * sizeGb);
export const monthlyIdleAddress = () => round(IDLE_ADDRESS_HOURLY * HOURS_PER_MONTH);
export const monthlySnapshot = (sizeGb: number) => round(SNAPSHOT_GB_MONTH * sizeGb);
