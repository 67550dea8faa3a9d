// Subscribers of a creation get its current state at once, then every change the tracker makes,
// and the subscription ends after a terminal status.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

describe('watching a creation', () => {
  it('yields the current state at once, then each change, and ends after COMPLETED', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'watched' }, { volumesGiB: [10] });
    const watched = await h.watch(c.id);
    expect(watched.values.map((v) => v.progress)).toEqual([0]);

    await h.tick(); // snapshot ids and tags recorded
    h.clock.advance(1000);
    await h.tick(); // nothing changed: nothing published
    h.fake.advance(c.amiId!, 35);
    h.clock.advance(1000);
    await h.tick();
    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    await h.tick();
    await watched.ended();

    expect(watched.values.map((v) => [v.status, v.progress, v.message, v.updatedAt])).toEqual([
      ['IN_PROGRESS', 0, 'Creating snapshot - 0% complete', h.clock.now() - 3000],
      ['IN_PROGRESS', 0, 'Creating snapshot - 0% complete', h.clock.now() - 3000],
      ['IN_PROGRESS', 35, 'Creating snapshot - 35% complete', h.clock.now() - 1000],
      ['COMPLETED', 100, `AMI ${c.amiId} is available in us-east-1`, h.clock.now()],
    ]);
    expect(h.openSubscriptions()).toBe(0);
  });

  it('yields a finished creation once and ends at once', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'already done' }, { volumesGiB: [10] });
    h.fake.complete(c.amiId!);
    await h.tick();
    const watched = await h.watch(c.id);
    await watched.ended();
    expect(watched.values.map((v) => v.status)).toEqual(['COMPLETED']);
    expect(h.openSubscriptions()).toBe(0);
  });

  it('ends after FAILED, with the reason in the last value', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'watched failure' }, { volumesGiB: [10] });
    const watched = await h.watch(c.id);
    h.fake.fail(c.amiId!, 'Client.InternalError: Snapshot failed');
    await h.tick();
    await watched.ended();
    expect(watched.values.at(-1)).toMatchObject({ status: 'FAILED', failureReason: 'Client.InternalError: Snapshot failed' });
    expect(h.openSubscriptions()).toBe(0);
  });
});
