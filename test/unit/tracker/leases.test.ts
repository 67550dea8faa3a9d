// With replicas, the tracker moves a creation only while its replica holds the lease of the
// creation's source region: without it, EC2 hears nothing about the creation from this replica and
// the creation stays as it is; with it, the creation advances (copies in other regions included).
// The reconciler likewise looks only at the AMIs of the regions it holds.
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../../src/services/reconciler.js';
import type { RegionLeases } from '../../../src/services/region-leases.js';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

/** Leases that hold exactly the regions in `regions` (a test changes the set to hand a region over). */
function leasesOf(regions: Set<string>): RegionLeases & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    holds(region) {
      asked.push(region);
      return Promise.resolve(regions.has(region));
    },
    held: () => [...regions].sort(),
    close: () => Promise.resolve(),
  };
}

describe('a tracker that holds some regions', () => {
  it('sends no EC2 request for a creation whose source region it does not hold, and leaves the creation as it was', async () => {
    const leases = leasesOf(new Set(['eu-west-1']));
    h = await createUnitHarness({ tracker: { leases } });
    const c = await h.create({ name: 'not mine', copyToRegions: ['us-west-2'] }, { volumesGiB: [8] });
    const before = await h.status(c.id);
    h.fake.complete(c.amiId!);

    h.clock.advance(1000);
    const { report, calls } = await h.tick();
    expect(calls).toEqual([]);
    expect(report).toMatchObject({ creations: 0, regions: 0, ec2Calls: 0, changed: 0, leasedRegions: ['eu-west-1'] });
    expect(await h.status(c.id)).toEqual(before);
    // One question per region and tick, however many lists the creation is in.
    expect(leases.asked).toEqual(['us-east-1']);
  });

  it('advances the creation once it holds the source region, copies in other regions included', async () => {
    const regions = new Set<string>();
    h = await createUnitHarness({ tracker: { leases: leasesOf(regions) } });
    const c = await h.create({ name: 'handed over', copyToRegions: ['us-west-2'] }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    expect((await h.tick()).calls).toEqual([]);

    regions.add('us-east-1');
    h.clock.advance(1000);
    const { report, calls } = await h.tick();
    expect(calls.map((x) => `${x.action} ${x.region}`)).toContain('DescribeImages us-east-1');
    expect(calls.map((x) => `${x.action} ${x.region}`)).toContain('CopyImage us-west-2');
    expect(report).toMatchObject({ creations: 1, changed: 1, leasedRegions: ['us-east-1'] });
    expect(await h.status(c.id)).toMatchObject({ stage: 'COPYING' });
    const [copy] = h.fake.images('us-west-2');
    h.fake.complete(copy!.id);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('leaves an unanswered CreateImage and an interrupted cancel to the holder of their region', async () => {
    const regions = new Set<string>();
    h = await createUnitHarness({ tracker: { leases: leasesOf(regions) } });
    h.fake.failNext('CreateImage', { error: { code: 'InternalError', status: 500 }, afterApplying: true });
    const orphan = await h.create({ name: 'answer lost' }, { volumesGiB: [8] });
    const cancelled = await h.create({ name: 'cancel interrupted' }, { volumesGiB: [8] });
    h.fake.failNext('DeregisterImage', { error: 'network' });
    await h.services.creations.cancel(h.viewer, cancelled.id);
    const before = [await h.status(orphan.id), await h.status(cancelled.id)];

    h.clock.advance(1000);
    expect((await h.tick()).calls).toEqual([]);
    expect([await h.status(orphan.id), await h.status(cancelled.id)]).toEqual(before);

    regions.add('us-east-1');
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(orphan.id)).toMatchObject({ stage: 'SNAPSHOTTING', amiId: h.fake.images('us-east-1')[0]!.id });
    expect(await h.status(cancelled.id)).toMatchObject({ status: 'CANCELLED', completedAt: h.clock.now() });
  });
});

describe('a reconciler that holds some regions', () => {
  it('asks EC2 only about the AMIs of the regions it holds, and changes only those', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'reconciled in part', copyToRegions: ['us-west-2'] }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    await h.tick();
    const copy = h.fake.images('us-west-2')[0]!;
    h.fake.complete(copy.id);
    h.clock.advance(1000);
    await h.tick();
    expect((await h.status(c.id)).status).toBe('COMPLETED');
    // Both deregistered outside the service; this replica holds only us-west-2.
    await h.fake.deregisterImage('us-east-1', c.amiId!);
    await h.fake.deregisterImage('us-west-2', copy.id);
    const reconciler = createReconciler(h.deps, { intervalMs: 1000, leases: leasesOf(new Set(['us-west-2'])) });

    const mark = h.fake.callCount();
    const report = await reconciler.runOnce();
    expect(h.fake.callsSince(mark).map((x) => `${x.action} ${x.region}`)).toEqual(['DescribeImages us-west-2']);
    expect(report).toMatchObject({
      checked: 1,
      regions: 1,
      ec2Calls: 1,
      changed: [{ amiId: copy.id, from: 'AVAILABLE', to: 'DEREGISTERED' }],
    });
    expect((await h.ami(c.amiId!))?.state).toBe('AVAILABLE');
    expect((await h.ami(copy.id))?.state).toBe('DEREGISTERED');
  });
});
