// Snapshot progress, message and ETA of a creation, tick by tick, against the in-memory EC2 fake.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

describe('snapshot progress', () => {
  it('weights the snapshots by volume size and says "Creating snapshot - N% complete"', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'weighted' }, { volumesGiB: [10, 30] });
    expect(await h.status(c.id)).toMatchObject({ status: 'IN_PROGRESS', stage: 'SNAPSHOTTING', progress: 0, sizeGiB: 40 });

    h.fake.advance(c.amiId!, [100, 0]);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ progress: 25, message: 'Creating snapshot - 25% complete' });

    h.fake.advance(c.amiId!, [100, 50]);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ progress: 62, message: 'Creating snapshot - 62% complete' });
  });

  it('never lowers the progress when EC2 reports less than before', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'monotonic' }, { volumesGiB: [20] });
    h.fake.advance(c.amiId!, 60);
    await h.tick();
    expect((await h.status(c.id)).progress).toBe(60);

    h.fake.advance(c.amiId!, 40);
    h.clock.advance(1000);
    await h.tick();
    // Current behaviour: the message follows what EC2 said, the progress does not go back.
    expect(await h.status(c.id)).toMatchObject({ progress: 60, message: 'Creating snapshot - 40% complete' });
  });

  it('stays at 99% while the snapshots are done but EC2 has not marked the image available', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'not yet available' }, { volumesGiB: [8] });
    h.fake.advance(c.amiId!, 100);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'SNAPSHOTTING',
      progress: 99,
      message: 'Creating snapshot - 99% complete',
    });
  });

  it('ends COMPLETED at 100% with the AMI named once the image is available', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'done' }, { volumesGiB: [8], architecture: 'arm64' });
    h.fake.advance(c.amiId!, 50);
    await h.tick();
    h.fake.complete(c.amiId!);
    h.clock.advance(5000);
    const { report } = await h.tick();
    expect(report.changed).toBe(1);
    expect(await h.status(c.id)).toMatchObject({
      status: 'COMPLETED',
      stage: 'DONE',
      progress: 100,
      message: `AMI ${c.amiId} is available in us-east-1`,
      estimatedSecondsRemaining: null,
      completedAt: h.clock.now(),
      failureReason: null,
    });
    expect(await h.ami(c.amiId!)).toMatchObject({
      state: 'AVAILABLE',
      sizeGiB: 8,
      architecture: 'arm64',
      snapshotIds: h.fake.image(c.amiId!).snapshotIds,
    });
  });

  it('tags the snapshots with the creation tags once their ids are known', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'tagged snapshots', tags: [{ key: 'project', value: 'alpha' }] }, { volumesGiB: [8, 8] });
    await h.tick();
    const snapshotIds = h.fake.image(c.amiId!).snapshotIds;
    expect((await h.status(c.id)).snapshotIds).toEqual(snapshotIds);
    for (const id of snapshotIds) {
      expect(h.fake.snapshot(id)?.tags).toEqual([
        { key: 'project', value: 'alpha' },
        { key: 'prism:creation-id', value: c.id },
        { key: 'prism:managed', value: 'true' },
        { key: 'prism:owner', value: 'tester' },
      ]);
    }
    h.clock.advance(1000);
    const { calls } = await h.tick();
    expect(calls.filter((x) => x.action === 'CreateTags')).toEqual([]);
  });
});

describe('estimated time remaining', () => {
  it('is null until a rate is observable, then follows the observed rate', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'eta' }, { volumesGiB: [100] });
    await h.tick();
    expect((await h.status(c.id)).estimatedSecondsRemaining).toBeNull();

    // Less than 1.5 intervals observed: no rate yet, whatever the progress.
    h.clock.advance(1000);
    h.fake.advance(c.amiId!, 10);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ progress: 10, estimatedSecondsRemaining: null });

    // 25 GiB in 10 s since the first observation: 75 GiB left at 2.5 GiB/s.
    h.clock.advance(9000);
    h.fake.advance(c.amiId!, 25);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ progress: 25, estimatedSecondsRemaining: 30 });

    h.clock.advance(10_000);
    h.fake.advance(c.amiId!, 50);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ progress: 50, estimatedSecondsRemaining: 20 });
  });
});
