// Responsible for honest cost estimates of an AMI: EBS snapshot storage per month in every region
// that holds a copy, and the one-time cross-region transfer of the copies.
//
// Prices in USD, transcribed from AWS's public price pages for this release (2026-11-25):
//   snapshot storage: https://aws.amazon.com/ebs/pricing/ ("EBS Snapshots", Standard tier, per GB-month)
//   inter-region transfer: https://aws.amazon.com/ec2/pricing/on-demand/ ("Data Transfer", to another AWS region)
// Prices change; a region missing here uses the us-east-1 price, and the README says so.

export const SNAPSHOT_STORAGE_USD_PER_GIB_MONTH: Readonly<Record<string, number>> = {
  'us-east-1': 0.05,
  'us-east-2': 0.05,
  'us-west-1': 0.055,
  'us-west-2': 0.05,
  'ca-central-1': 0.055,
  'eu-west-1': 0.05,
  'eu-west-2': 0.053,
  'eu-west-3': 0.053,
  'eu-central-1': 0.054,
  'eu-north-1': 0.0475,
  'ap-south-1': 0.05,
  'ap-northeast-1': 0.05,
  'ap-northeast-2': 0.05,
  'ap-northeast-3': 0.05,
  'ap-southeast-1': 0.05,
  'ap-southeast-2': 0.055,
  'sa-east-1': 0.068,
};

/** Data transfer out of a region to another AWS region, per GB, by source region. */
export const INTER_REGION_TRANSFER_USD_PER_GIB: Readonly<Record<string, number>> = {
  'ap-south-1': 0.086,
  'ap-northeast-1': 0.09,
  'ap-northeast-2': 0.08,
  'ap-northeast-3': 0.09,
  'ap-southeast-1': 0.09,
  'ap-southeast-2': 0.098,
  'sa-east-1': 0.138,
};
const DEFAULT_TRANSFER_USD_PER_GIB = 0.02;

export interface CostEstimate {
  storageMonthlyUsd: number;
  creationUsd: number;
  sizeGiB: number;
}

export function snapshotStoragePrice(region: string): number {
  return SNAPSHOT_STORAGE_USD_PER_GIB_MONTH[region] ?? SNAPSHOT_STORAGE_USD_PER_GIB_MONTH['us-east-1']!;
}

export function transferPrice(fromRegion: string): number {
  return INTER_REGION_TRANSFER_USD_PER_GIB[fromRegion] ?? DEFAULT_TRANSFER_USD_PER_GIB;
}

/**
 * Upper bound: snapshots are incremental and compressed, so real storage is usually lower than the
 * full volume size used here. CreateImage and CopyImage themselves have no fee.
 */
export function estimateCost(sizeGiB: number, sourceRegion: string, copyRegions: readonly string[]): CostEstimate {
  const regions = [sourceRegion, ...copyRegions];
  const storage = regions.reduce((sum, r) => sum + sizeGiB * snapshotStoragePrice(r), 0);
  const transfer = copyRegions.length * sizeGiB * transferPrice(sourceRegion);
  return { storageMonthlyUsd: roundUsd(storage), creationUsd: roundUsd(transfer), sizeGiB };
}

function roundUsd(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
