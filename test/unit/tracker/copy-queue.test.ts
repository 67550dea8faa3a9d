// Copies that EC2 refuses for its limit of concurrent copies per destination region
// (ResourceLimitExceeded): they wait PENDING in their region's queue, never FAILED, and are asked
// for again only when a slot frees (one of our copies to the region ends) or, when copies we do
// not know hold the limit, by one probe of the queue's head after a growing wait. Oldest first;
// a new copy does not jump the queue; the queue outlives a restart; a queued copy cancels cleanly.
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeCall } from '../../support/fake-ec2.js';
import { copyClientToken, createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const WEST = 'us-west-2';
const copyCalls = (calls: FakeCall[]) => calls.filter((x) => x.action === 'CopyImage' && x.region === WEST);
const tokens = (calls: FakeCall[]) => copyCalls(calls).map((x) => (x.args as { clientToken: string }).clientToken);
const token = (creationId: string) => copyClientToken(creationId, WEST);

/** A creation whose source is available, so that its next tick requests the copy to us-west-2. */
async function readyToCopy(name: string) {
  const c = await h.create({ name, copyToRegions: [WEST] }, { volumesGiB: [10] });
  h.fake.complete(c.amiId!);
  return c;
}

/** One creation copying to us-west-2 (limit 1), and the next ones queued behind it, a second apart. */
async function fullRegion(queuedNames: string[]) {
  h = await createUnitHarness();
  h.fake.limitConcurrentCopies(WEST, 1);
  const running = await readyToCopy('holds the slot');
  await h.tick();
  const queued = [];
  for (const name of queuedNames) {
    h.clock.advance(1000);
    queued.push(await readyToCopy(name));
    await h.tick();
  }
  const runningCopy = (await h.status(running.id)).copies[0]!.amiId!;
  return { running, runningCopy, queued };
}

async function copyOf(id: string) {
  return (await h.status(id)).copies[0]!;
}

describe("copies queued behind EC2's limit of concurrent copies", () => {
  it('keeps a copy that EC2 refuses for the limit PENDING in the queue with a message, not FAILED', async () => {
    h = await createUnitHarness();
    h.fake.limitConcurrentCopies(WEST, 1);
    await readyToCopy('first copy');
    await h.tick();
    h.clock.advance(1000);
    const second = await readyToCopy('second copy');
    const { calls } = await h.tick();

    expect(copyCalls(calls).map((x) => x.errorCode)).toEqual(['ResourceLimitExceeded']);
    const queued = await h.status(second.id);
    expect(queued).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'COPYING',
      progress: 50,
      message: 'Copying to us-west-2 (queued)',
      failureReason: null,
    });
    expect(queued.copies[0]).toMatchObject({
      status: 'PENDING',
      amiId: null,
      progress: 0,
      startedAt: null,
      queuedAt: h.clock.now(),
      message: 'Queued: 1 copy already in progress to us-west-2',
      failureReason: null,
    });
    expect(h.fake.images(WEST)).toHaveLength(1);
  });

  it('sends no CopyImage to the full region while it stays full, tick after tick', async () => {
    const { queued } = await fullRegion(['waits']);
    const queuedAt = (await copyOf(queued[0]!.id)).queuedAt;
    for (let i = 0; i < 20; i++) {
      h.clock.advance(1000);
      expect(copyCalls((await h.tick()).calls)).toEqual([]);
    }
    expect(await copyOf(queued[0]!.id)).toMatchObject({ status: 'PENDING', queuedAt, amiId: null });
    expect((await h.status(queued[0]!.id)).status).toBe('IN_PROGRESS');
  });

  it('requests the queued copies one by one as copies to the region complete, oldest first across creations', async () => {
    const { running, runningCopy, queued } = await fullRegion(['queued first', 'queued second']);
    const [first, second] = queued as [(typeof queued)[0], (typeof queued)[0]];
    expect((await copyOf(first.id)).queuedAt).toBeLessThan((await copyOf(second.id)).queuedAt!);

    // The slot frees in the tick that sees the copy complete, and the oldest queued copy takes it at once.
    h.fake.complete(runningCopy);
    h.clock.advance(1000);
    const freed = await h.tick();
    expect(tokens(freed.calls)).toEqual([token(first.id)]);
    expect(copyCalls(freed.calls)[0]!.errorCode).toBeUndefined();
    expect((await h.status(running.id)).status).toBe('COMPLETED');
    expect(await copyOf(first.id)).toMatchObject({ status: 'IN_PROGRESS', message: 'Copy started' });
    expect(await copyOf(second.id)).toMatchObject({
      status: 'PENDING',
      message: 'Queued: 1 copy already in progress to us-west-2',
    });

    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([]);
    h.fake.complete((await copyOf(first.id)).amiId!);
    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([token(second.id)]);
    h.fake.complete((await copyOf(second.id)).amiId!);
    h.clock.advance(1000);
    await h.tick();
    for (const c of [running, first, second]) expect((await h.status(c.id)).status).toBe('COMPLETED');
    // One refusal in all: the second queued copy joined the full region's queue without asking.
    expect(h.fake.callsOf('CopyImage', WEST).filter((x) => x.errorCode)).toHaveLength(1);
  });

  it('lets the head go when the copy holding the slot fails or its creation is cancelled', async () => {
    const { running, runningCopy, queued } = await fullRegion(['after a failure', 'after a cancel']);
    const [first, second] = queued as [(typeof queued)[0], (typeof queued)[0]];
    h.fake.fail(runningCopy, 'Client.InternalError: copy failed');
    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([token(first.id)]);
    expect((await h.status(running.id)).status).toBe('PARTIALLY_COMPLETED');

    await h.services.creations.cancel(h.viewer, first.id);
    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([token(second.id)]);
    expect((await copyOf(second.id)).status).toBe('IN_PROGRESS');
  });

  it('puts a new copy to a full region behind the queued ones without asking EC2', async () => {
    const { runningCopy, queued } = await fullRegion(['queued early']);
    h.clock.advance(1000);
    const late = await readyToCopy('arrives late');
    const arrival = await h.tick();
    expect(copyCalls(arrival.calls)).toEqual([]);
    expect(await copyOf(late.id)).toMatchObject({
      status: 'PENDING',
      queuedAt: h.clock.now(),
      message: 'Queued: 1 copy already in progress to us-west-2',
    });

    h.fake.complete(runningCopy);
    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([token(queued[0]!.id)]);
    expect((await copyOf(late.id)).status).toBe('PENDING');
  });

  it('probes with the head of the queue after a growing wait when copies it does not know hold the limit', async () => {
    h = await createUnitHarness();
    h.fake.limitConcurrentCopies(WEST, 1);
    const other = await h.create({ name: 'copied by someone else' }, { volumesGiB: [10] });
    h.fake.complete(other.amiId!);
    await h.tick();
    const foreign = await h.fake.copyImage(WEST, {
      sourceRegion: 'us-east-1',
      sourceImageId: other.amiId!,
      name: 'not ours',
      clientToken: 'another-tool',
      tags: [],
    });
    h.clock.advance(1000);
    const c = await readyToCopy('behind a foreign copy');
    await h.tick();
    expect(await copyOf(c.id)).toMatchObject({
      status: 'PENDING',
      message: "Queued: EC2's limit of concurrent copies to us-west-2 is reached",
    });

    const sentAt: number[] = [];
    for (let second = 1; second <= 14; second++) {
      if (second === 10) h.fake.complete(foreign);
      h.clock.advance(1000);
      const sent = copyCalls((await h.tick()).calls);
      expect(sent.length).toBeLessThanOrEqual(1);
      if (sent.length) sentAt.push(second);
    }
    // Waits of 2, 4 and 8 intervals after each refusal; the third probe finds the slot free.
    expect(sentAt).toEqual([2, 6, 14]);
    expect(await copyOf(c.id)).toMatchObject({ status: 'IN_PROGRESS', message: 'Copy started' });
  });

  it('keeps the queue across a restart: the head is tried once, then the queue waits for a slot', async () => {
    const { runningCopy, queued } = await fullRegion(['first in line', 'second in line']);
    const [first, second] = queued as [(typeof queued)[0], (typeof queued)[0]];
    const queuedAt = (await copyOf(first.id)).queuedAt;

    h.restartTracker();
    h.clock.advance(1000);
    const restarted = await h.tick();
    expect(tokens(restarted.calls)).toEqual([token(first.id)]);
    expect(copyCalls(restarted.calls)[0]!.errorCode).toBe('ResourceLimitExceeded');
    expect(await copyOf(first.id)).toMatchObject({
      status: 'PENDING',
      queuedAt,
      startedAt: null,
      message: 'Queued: 1 copy already in progress to us-west-2',
    });
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      expect(copyCalls((await h.tick()).calls)).toEqual([]);
    }

    h.fake.complete(runningCopy);
    h.clock.advance(1000);
    expect(tokens((await h.tick()).calls)).toEqual([token(first.id)]);
    expect((await copyOf(first.id)).status).toBe('IN_PROGRESS');
    expect((await copyOf(second.id)).status).toBe('PENDING');
  });

  it('cancels a creation with a queued copy: nothing to remove in the region, and the copy is never requested', async () => {
    const { runningCopy, queued } = await fullRegion(['cancelled while queued']);
    const c = queued[0]!;
    await h.services.creations.cancel(h.viewer, c.id);
    h.clock.advance(1000);
    await h.tick();
    const cancelled = await h.status(c.id);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      message: `Cancelled; ${c.amiId} deregistered and its snapshots deleted`,
    });
    expect(cancelled.completedAt).not.toBeNull();
    expect(cancelled.copies[0]).toMatchObject({ status: 'CANCELLED', amiId: null });
    expect(h.fake.callsOf('DeregisterImage', WEST)).toEqual([]);

    const before = h.fake.callsOf('CopyImage', WEST).length;
    h.fake.complete(runningCopy);
    h.clock.advance(1000);
    await h.tick();
    expect(h.fake.callsOf('CopyImage', WEST)).toHaveLength(before);
  });
});
