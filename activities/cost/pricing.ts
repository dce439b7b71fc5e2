/**
 * The one place cost findings are priced (docs/costs.md explains the figures). AWS: on-demand list prices of
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

/**
 * Azure pay-as-you-go Linux USD per hour (East US). A size missing here is priced by its vCPU count
 * (the digits after the family letter) at a D-series vCPU's 0.048/h.
 */
const AZURE_VM_HOURLY: Record<string, number> = {
  Standard_B1s: 0.0104, Standard_B1ms: 0.0207, Standard_B2s: 0.0416, Standard_B2ms: 0.0832, Standard_B4ms: 0.166,
  Standard_D2s_v3: 0.096, Standard_D4s_v3: 0.192, Standard_D8s_v3: 0.384, Standard_D2s_v5: 0.096, Standard_D4s_v5: 0.192, Standard_D8s_v5: 0.384,
  Standard_D2as_v5: 0.086, Standard_D4as_v5: 0.172, Standard_E2s_v5: 0.126, Standard_E4s_v5: 0.252, Standard_F2s_v2: 0.0846, Standard_F4s_v2: 0.169,
};
/** Managed disks, USD per GiB-month by SKU (the tier price of a 128 GiB disk divided by its size; tiers round up, so this is a floor). */
const AZURE_DISK_GB_MONTH: Record<string, number> = {
  Standard_LRS: 0.045, StandardSSD_LRS: 0.075, StandardSSD_ZRS: 0.094, Premium_LRS: 0.15, Premium_ZRS: 0.19, PremiumV2_LRS: 0.12, UltraSSD_LRS: 0.12,
};
/** A Standard static public IP: USD 0.005 an hour whether or not it is used. */
const AZURE_PUBLIC_IP_HOURLY = 0.005;
/** Managed snapshots (standard, LRS): USD per GiB-month of the snapshot's size. */
const AZURE_SNAPSHOT_GB_MONTH = 0.05;

function azureHourly(size: string): number {
  const known = AZURE_VM_HOURLY[size];
  if (known !== undefined) return known;
  const vcpus = /^(?:Standard|Basic)_[A-Z]+(\d+)/i.exec(size)?.[1];
  return 0.048 * (vcpus ? Number(vcpus) : 2);
}

export const azureMonthlyVm = (size: string) => round(azureHourly(size) * HOURS_PER_MONTH);
export const azureMonthlyDisk = (sku: string, sizeGb: number) => round((AZURE_DISK_GB_MONTH[sku] ?? AZURE_DISK_GB_MONTH.Premium_LRS!) * sizeGb);
export const azureMonthlyPublicIp = () => round(AZURE_PUBLIC_IP_HOURLY * HOURS_PER_MONTH);
export const azureMonthlySnapshot = (sizeGb: number) => round(AZURE_SNAPSHOT_GB_MONTH * sizeGb);

/**
 * Compute Engine on-demand USD per hour (us-central1). A type missing here is priced by its vCPU count
 * (the number ending its name) at an e2-standard vCPU's 0.0335/h; shared-core types are listed.
 */
const GCP_MACHINE_HOURLY: Record<string, number> = {
  'e2-micro': 0.0084, 'e2-small': 0.0168, 'e2-medium': 0.0335, 'e2-standard-2': 0.067, 'e2-standard-4': 0.134, 'e2-standard-8': 0.268,
  'n1-standard-1': 0.0475, 'n1-standard-2': 0.095, 'n1-standard-4': 0.19, 'n2-standard-2': 0.0971, 'n2-standard-4': 0.1942, 'n2-standard-8': 0.3885,
  'n2d-standard-2': 0.0845, 'n2d-standard-4': 0.169, 'c2-standard-4': 0.2088, 'f1-micro': 0.0076, 'g1-small': 0.0257,
};
/** Persistent disk, USD per GB-month by disk type. */
const GCP_DISK_GB_MONTH: Record<string, number> = { 'pd-standard': 0.04, 'pd-balanced': 0.1, 'pd-ssd': 0.17, 'pd-extreme': 0.125, 'hyperdisk-balanced': 0.08 };
/** A reserved external IP address that is not in use: USD 0.01 an hour. */
const GCP_IDLE_ADDRESS_HOURLY = 0.01;
/** Standard snapshots, USD per GB-month of what the snapshot stores (storageBytes). */
const GCP_SNAPSHOT_GB_MONTH = 0.05;

function gcpHourly(machineType: string): number {
  const known = GCP_MACHINE_HOURLY[machineType];
  if (known !== undefined) return known;
  const vcpus = /-(\d+)$/.exec(machineType)?.[1];
  return 0.0335 * (vcpus ? Number(vcpus) : 2);
}

export const gcpMonthlyInstance = (machineType: string) => round(gcpHourly(machineType) * HOURS_PER_MONTH);
export const gcpMonthlyDisk = (diskType: string, sizeGb: number) => round((GCP_DISK_GB_MONTH[diskType] ?? GCP_DISK_GB_MONTH['pd-balanced']!) * sizeGb);
export const gcpMonthlyIdleAddress = () => round(GCP_IDLE_ADDRESS_HOURLY * HOURS_PER_MONTH);
export const gcpMonthlySnapshot = (storageGb: number) => round(GCP_SNAPSHOT_GB_MONTH * storageGb);
