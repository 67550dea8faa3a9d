// A cancel always wins over a concurrent tick, and every image the creation made is removed.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

describe('cancelling while the tracker works', () => {
  it('keeps CANCELLED when the cancel lands between the observation and the write, and removes the image', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'cancel mid-tick' }, { volumesGiB: [8, 8] });
    const watched = await h.watch(c.id);
    await h.tick();
    const snapshotIds = h.fake.image(c.amiId!).snapshotIds;
    h.fake.complete(c.amiId!);
    // The tick has seen the image available; the cancel runs before it writes what it saw.
    h.fake.beforeAnswering('DescribeSnapshots', async () => {
      await h.services.creations.cancel(h.viewer, c.id);
    });
    h.clock.advance(1000);
    await h.tick();
    await watched.ended();

    const cancelled = await h.status(c.id);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      message: `Cancelled; ${c.amiId} deregistered and its snapshots deleted`,
      completedAt: h.clock.now(),
    });
    expect(h.fake.image(c.amiId!).state).toBe('deregistered');
    for (const id of snapshotIds) expect(h.fake.snapshot(id)).toBeUndefined();
    expect((await h.ami(c.amiId!))?.state).toBe('DEREGISTERED');
    expect(watched.values.at(-1)).toMatchObject({ status: 'CANCELLED', completedAt: h.clock.now() });
    expect(watched.values.some((v) => v.status === 'COMPLETED')).toBe(false);

    // Later ticks leave it alone.
    h.clock.advance(1000);
    const later = await h.tick();
    expect(later.calls).toEqual([]);
    expect(await h.status(c.id)).toEqual(cancelled);
  });

  it('removes a copy that EC2 made while the cancel was being recorded', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'cancel during copy', copyToRegions: ['us-west-2'] }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    h.fake.beforeAnswering('CopyImage', async () => {
      await h.services.creations.cancel(h.viewer, c.id);
    });
    await h.tick();

    const [copy] = h.fake.images('us-west-2');
    expect(copy).toBeDefined();
    expect(h.fake.image(copy!.id).state).toBe('deregistered');
    expect(h.fake.image(c.amiId!).state).toBe('deregistered');
    const cancelled = await h.status(c.id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.completedAt).not.toBeNull();
    expect(cancelled.message).toMatch(/^Cancelled; .* deregistered and their snapshots deleted$/);
    expect(cancelled.message).toContain(copy!.id);
    expect(cancelled.message).toContain(c.amiId!);
    expect(cancelled.copies[0]).toMatchObject({ status: 'CANCELLED', amiId: copy!.id });
  });

  it('finishes on the next tick a cancel whose clean-up EC2 interrupted', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'cancel interrupted' }, { volumesGiB: [8] });
    const watched = await h.watch(c.id);
    h.fake.failNext('DeregisterImage', { error: 'network' });
    const answered = await h.services.creations.cancel(h.viewer, c.id);
    expect(answered).toMatchObject({
      status: 'CANCELLED',
      completedAt: null,
      message:
        'Cancelled; still removing what was made (will retry): could not deregister the images in us-east-1: socket hang up',
    });
    expect(h.fake.image(c.amiId!).state).toBe('pending');

    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'CANCELLED',
      completedAt: h.clock.now(),
      message: `Cancelled; ${c.amiId} deregistered and its snapshots deleted`,
    });
    expect(h.fake.image(c.amiId!).state).toBe('deregistered');
    // Subscribers stay until the clean-up is done: they see the interrupted state, then the end.
    await watched.ended();
    expect(watched.values.map((v) => v.message)).toContain(answered.message);
    expect(watched.values.at(-1)).toMatchObject({ status: 'CANCELLED', completedAt: h.clock.now() });
  });
});
