// The viewer-wide streams at the service level: amiChanges hears the AMI writes that happen without
// any request of the user's (the tracker's AVAILABLE, a retention, a cancel, the reconciler), and
// amiCreationChanges carries only the owner's creations, filtered by status, without completing.
import { afterEach, describe, expect, it } from 'vitest';
import type { AmiRecord } from '../../../src/db/amis.js';
import type { CreationRecord } from '../../../src/db/creations.js';
import { createReconciler } from '../../../src/services/reconciler.js';
import { createUnitHarness, ownedBy, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;
const open: AsyncIterableIterator<unknown>[] = [];

afterEach(async () => {
  for (const stream of open.splice(0)) await stream.return?.(undefined);
  await h?.close();
});

/** Everything `stream` yields, as it comes. */
function collect<T>(stream: AsyncIterableIterator<T>): T[] {
  open.push(stream);
  const values: T[] = [];
  void (async () => {
    for await (const v of stream) values.push(v);
  })();
  return values;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function completed(name: string, input: { templateName?: string; retention?: { keepLatest: number } } = {}) {
  const c = await h.create({ name, ...input });
  h.fake.complete(c.amiId!);
  h.clock.advance(1000);
  await h.tick();
  return h.status(c.id);
}

describe('amiChanges from the background writers', () => {
  it('tells the owner of AVAILABLE at the end of a creation and of DEREGISTERED by a later retention, with the reason', async () => {
    h = await createUnitHarness();
    const amis = collect<AmiRecord>(h.services.amis.changes(h.viewer));
    const old = await completed('kept one', { templateName: 'base' });
    await settle();
    expect(amis.map((a) => [a.amiId, a.state])).toEqual([[old.amiId, 'AVAILABLE']]);

    const next = await completed('newer', { templateName: 'base', retention: { keepLatest: 1 } });
    await settle();
    expect(amis.slice(1).map((a) => [a.amiId, a.state])).toEqual([
      [next.amiId, 'AVAILABLE'],
      [old.amiId, 'DEREGISTERED'],
    ]);
    expect(amis.at(-1)!.deregisteredReason).toMatch(/^Retired by the retention of template 'base'/);
  });

  it('tells the owner of DEREGISTERED after a cancel removed the image, and after the reconciler found one gone', async () => {
    h = await createUnitHarness();
    const amis = collect<AmiRecord>(h.services.amis.changes(h.viewer));
    const running = await h.create({ name: 'to cancel' });
    await h.services.creations.cancel(h.viewer, running.id);
    await settle();
    expect(amis.map((a) => [a.amiId, a.state])).toEqual([[running.amiId, 'DEREGISTERED']]);

    const done = await completed('removed outside');
    await h.fake.deregisterImage('us-east-1', done.amiId!);
    await createReconciler(h.deps, { intervalMs: 1000 }).runOnce();
    await settle();
    expect(amis.slice(1).map((a) => [a.amiId, a.state])).toEqual([
      [done.amiId, 'AVAILABLE'],
      [done.amiId, 'DEREGISTERED'],
    ]);
  });
});

describe('amiCreationChanges', () => {
  it("carries the owner's new creation and its changes, only the statuses asked for, never another user's, and does not complete", async () => {
    h = await createUnitHarness();
    const all = collect<CreationRecord>(h.services.creations.changes(h.viewer));
    const ended = collect<CreationRecord>(h.services.creations.changes(h.viewer, ['COMPLETED', 'FAILED']));
    const bobs = collect<CreationRecord>(h.services.creations.changes({ user: 'bob' }));

    const mine = await completed('mine');
    const bob = await h.services.creations.create(
      { user: 'bob' },
      { instance: h.fake.addInstance({ tags: ownedBy('bob') }), name: 'bobs', noReboot: true, tags: [] },
    );
    await settle();

    expect(new Set(all.map((c) => c.id))).toEqual(new Set([mine.id]));
    expect(all[0]!.status).toBe('PENDING');
    expect(all.at(-1)!.status).toBe('COMPLETED');
    expect(ended.map((c) => [c.id, c.status])).toEqual([[mine.id, 'COMPLETED']]);
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((c) => c.id === bob.id && c.owner === 'bob')).toBe(true);
    // Still open after the creation ended: one more creation of the owner's arrives on the same stream.
    const again = await h.create({ name: 'later' });
    await settle();
    expect(all.at(-1)!.id).toBe(again.id);
  });

  it('tells the owner a creation EC2 refused ended FAILED with the reason, though its row is gone', async () => {
    h = await createUnitHarness();
    const all = collect<CreationRecord>(h.services.creations.changes(h.viewer));
    h.fake.failNext('CreateImage', { error: { code: 'InvalidParameterValue', status: 400 } });
    await expect(h.create({ name: 'refused' })).rejects.toThrow();
    await settle();

    expect(all.map((c) => c.status)).toEqual(['PENDING', 'FAILED']);
    expect(all[1]!.failureReason).toBeTruthy();
    expect(all[1]!.completedAt).toBe(h.clock.now());
    expect(await h.services.creations.get(h.viewer, all[0]!.id)).toBeNull();
  });
});
