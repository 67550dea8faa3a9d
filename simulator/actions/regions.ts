/** DescribeRegions: the commercial regions the simulator answers for (each signed region has its own state). */
import type { DescribeRegionsRequest, DescribeRegionsResult } from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { errors } from '../errors.js';
import { applyFilters, type FilterTable } from '../filters.js';
import { REGIONS } from '../seed.js';

const REGION_FILTERS: FilterTable<string> = {
  'region-name': (r) => [r],
  endpoint: (r) => [`ec2.${r}.amazonaws.com`],
  'opt-in-status': () => ['opt-in-not-required'],
};

export function describeRegions(_ctx: ActionContext, input: DescribeRegionsRequest): DescribeRegionsResult {
  let regions: string[] = [...REGIONS];
  if (input.RegionNames && input.RegionNames.length > 0) {
    const unknown = input.RegionNames.find((r) => !regions.includes(r));
    if (unknown !== undefined) throw errors.invalidParameterValue(`Invalid region: ${unknown}`);
    const names = input.RegionNames;
    regions = regions.filter((r) => names.includes(r));
  }
  regions = applyFilters(regions, input.Filters, REGION_FILTERS, () => []);
  return {
    Regions: regions.map((r) => ({
      RegionName: r,
      Endpoint: `ec2.${r}.amazonaws.com`,
      OptInStatus: 'opt-in-not-required',
    })),
  };
}
