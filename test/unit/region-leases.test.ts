// The single-process leases and the per-tick view the loops filter their lists with.
import { describe, expect, it } from 'vitest';
import { everyRegion, ownedBy, regionCheck, type RegionLeases } from '../../src/services/region-leases.js';

describe('everyRegion', () => {
  it('holds every region it is asked about and lists them', async () => {
    const leases = everyRegion();
    expect(await leases.holds('us-west-2')).toBe(true);
    expect(await leases.holds('eu-west-1')).toBe(true);
    expect(leases.held()).toEqual(['eu-west-1', 'us-west-2']);
  });
});

describe('ownedBy', () => {
  it('keeps the items of held regions in order, asking once per region', async () => {
    const asked: string[] = [];
    const leases: RegionLeases = {
      holds: (region) => {
        asked.push(region);
        return Promise.resolve(region !== 'us-east-1');
      },
      held: () => [],
      close: () => Promise.resolve(),
    };
    const items = [
      { id: 1, region: 'us-east-1' },
      { id: 2, region: 'us-west-2' },
      { id: 3, region: 'us-east-1' },
      { id: 4, region: 'eu-west-1' },
      { id: 5, region: 'us-west-2' },
    ];
    const owns = regionCheck(leases);
    expect((await ownedBy(owns, items, (i) => i.region)).map((i) => i.id)).toEqual([2, 4, 5]);
    // A second list in the same tick asks nothing more; a list still being loaded is awaited.
    expect((await ownedBy(owns, Promise.resolve(items.slice(0, 2)), (i) => i.region)).map((i) => i.id)).toEqual([2]);
    expect(asked).toEqual(['us-east-1', 'us-west-2', 'eu-west-1']);
  });
});
