// Responsible for knowing which region names exist: EC2's own list (DescribeRegions, cached),
// falling back to the commercial regions below when EC2 cannot be asked.
import type { Logger } from 'pino';
import type { Ec2Gateway } from './ec2/types.js';

/** Commercial regions enabled by default (used until DescribeRegions answers). */
export const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
] as const;

export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

export interface RegionDirectory {
  /** Region names EC2 reports as enabled for this account. */
  knownRegions(): Promise<ReadonlySet<string>>;
}

const CACHE_MS = 60 * 60 * 1000;

export function createRegionDirectory(deps: { ec2: Ec2Gateway; logger: Logger; now?: () => number }): RegionDirectory {
  const now = deps.now ?? Date.now;
  let cached: { at: number; regions: ReadonlySet<string> } | undefined;
  return {
    async knownRegions() {
      if (cached && now() - cached.at < CACHE_MS) return cached.regions;
      try {
        const regions = await deps.ec2.describeRegions();
        if (regions.length > 0) {
          cached = { at: now(), regions: new Set(regions) };
          return cached.regions;
        }
      } catch (err) {
        deps.logger.warn({ err }, 'DescribeRegions failed; validating regions against the built-in list');
      }
      return new Set(DEFAULT_REGIONS);
    },
  };
}
