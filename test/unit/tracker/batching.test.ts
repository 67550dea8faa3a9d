// The tracker asks EC2 in batches: per region and tick one DescribeImages and one DescribeSnapshots
// for every tracked creation, never one call per creation.
import { afterEach, describe, expect, it } from 'vitest';
import type { CreationRecord } from '../../../src/db/creations.js';
import { createUnitHarness, ownedBy, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

async function createMany(n: number, input: { copyToRegions?: string[] } = {}): Promise<CreationRecord[]> {
  const instance = h.fake.addInstance({ volumesGiB: [8], tags: ownedBy(h.viewer.user) });
  const out: CreationRecord[] = [];
  for (let i = 0; i < n; i++) out.push(await h.create({ name: `batch ${i}`, instance, ...input }));
  return out;
}

const actions = (calls: { action: string; region: string }[]) => calls.map((c) => `${c.action} ${c.region}`);

describe('one DescribeImages and one DescribeSnapshots per region and tick', () => {
  it('asks twice for 50 creations, and the tick report counts the same 2 requests as EC2 saw', async () => {
    h = await createUnitHarness();
    const created = await createMany(50);
    // The first two ticks also tag the new snapshots; from then on only the batch remains.
    await h.tick();
    h.clock.advance(1000);
    await h.tick();
    h.clock.advance(1000);
    const mark = h.fake.callCount();
    const { report, calls } = await h.tick();
    expect(actions(calls)).toEqual(['DescribeImages us-east-1', 'DescribeSnapshots us-east-1']);
    expect((calls[0]!.args as { ids: string[] }).ids.sort()).toEqual(created.map((c) => c.amiId!).sort());
    expect((calls[1]!.args as { ids: string[] }).ids).toHaveLength(50);
    expect(report).toMatchObject({ creations: 50, regions: 1, ec2Calls: 2, skippedRegions: [] });
    expect(h.fake.callCount() - mark).toBe(report.ec2Calls);
  });

  it("tags at most 40 creations' snapshots per region and tick, the rest on the next tick", async () => {
    h = await createUnitHarness();
    await createMany(50);
    const first = await h.tick();
    expect(first.calls.filter((c) => c.action === 'CreateTags')).toHaveLength(40);
    h.clock.advance(1000);
    const second = await h.tick();
    expect(second.calls.filter((c) => c.action === 'CreateTags')).toHaveLength(10);
  });

  it('asks each region once: copies in two regions make one batch per region', async () => {
    h = await createUnitHarness();
    const created = await createMany(3, { copyToRegions: ['us-west-2', 'eu-west-1'] });
    for (const c of created) h.fake.complete(c.amiId!);
    await h.tick(); // sources available: copies requested
    h.clock.advance(1000);
    await h.tick(); // copy snapshots tagged
    h.clock.advance(1000);
    const { report, calls } = await h.tick();
    expect(actions(calls).sort()).toEqual([
      'DescribeImages eu-west-1',
      'DescribeImages us-west-2',
      'DescribeSnapshots eu-west-1',
      'DescribeSnapshots us-west-2',
    ]);
    expect(report).toMatchObject({ creations: 3, regions: 3, ec2Calls: 4 });
  });

  // The gateway splits a batch into chunks of 1000 ids (DescribeImages alike: see the fake's own
  // tests); 1001 creations would cost seconds of SQLite here, so the snapshots make the batch.
  it('sends the snapshots of every image as one batch, 1000 ids per request: 1001 snapshots make 2 DescribeSnapshots', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'many volumes' }, { volumesGiB: Array.from({ length: 1001 }, () => 1) });
    await h.tick();
    h.clock.advance(1000);
    const { report, calls } = await h.tick();
    expect(calls.map((x) => [x.action, (x.args as { ids: string[] }).ids.length])).toEqual([
      ['DescribeImages', 1],
      ['DescribeSnapshots', 1000],
      ['DescribeSnapshots', 1],
    ]);
    expect(report.ec2Calls).toBe(3);
    expect((await h.status(c.id)).snapshotIds).toHaveLength(1001);
  });

  // The gateway counts its requests, so the report includes tagging, publishing and clean-up too.
  it('reports in ec2Calls every request the tick sent, snapshot tagging included', async () => {
    h = await createUnitHarness();
    await createMany(2);
    const mark = h.fake.callCount();
    const { report } = await h.tick();
    expect(report.ec2Calls).toBe(h.fake.callCount() - mark);
  });
});
