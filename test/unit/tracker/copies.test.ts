// Regional copies: requested once the source image is available, idempotent by ClientToken,
// counted in the overall progress, and a failed copy leaves the creation PARTIALLY_COMPLETED.
import { afterEach, describe, expect, it } from 'vitest';
import { copyClientToken, createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

interface CopyArgs {
  sourceRegion: string;
  sourceImageId: string;
  name: string;
  clientToken: string;
  tags: { key: string; value: string }[];
}

describe('copies to other regions', () => {
  it('requests no copy while the source is pending, then one per region with a ClientToken per creation and region', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'two copies', copyToRegions: ['us-west-2', 'eu-west-1'] }, { volumesGiB: [10] });
    h.fake.advance(c.amiId!, 90);
    const pending = await h.tick();
    expect(pending.calls.filter((x) => x.action === 'CopyImage')).toEqual([]);
    expect((await h.status(c.id)).copies.map((x) => [x.region, x.status, x.message])).toEqual([
      ['us-west-2', 'PENDING', 'Waiting for the source AMI'],
      ['eu-west-1', 'PENDING', 'Waiting for the source AMI'],
    ]);

    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    const { calls } = await h.tick();
    const copyCalls = calls.filter((x) => x.action === 'CopyImage');
    expect(copyCalls.map((x) => x.region)).toEqual(['us-west-2', 'eu-west-1']);
    const args = copyCalls.map((x) => x.args as CopyArgs);
    expect(args.map((a) => a.clientToken)).toEqual([copyClientToken(c.id, 'us-west-2'), copyClientToken(c.id, 'eu-west-1')]);
    expect(args[0]!.clientToken).toMatch(/^prism-[0-9a-f]{48}$/);
    expect(args[0]!.clientToken).not.toBe(args[1]!.clientToken);
    expect(args[0]).toMatchObject({ sourceRegion: 'us-east-1', sourceImageId: c.amiId, name: 'two copies' });
    expect(args[0]!.tags).toContainEqual({ key: 'prism:creation-id', value: c.id });

    const copying = await h.status(c.id);
    expect(copying).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'COPYING',
      progress: 33,
      message: 'Copying to us-west-2 - 0%, eu-west-1 - 0%',
    });
    expect(copying.copies.map((x) => [x.status, x.message])).toEqual([
      ['IN_PROGRESS', 'Copy started'],
      ['IN_PROGRESS', 'Copy started'],
    ]);
    expect(h.fake.image(copying.copies[0]!.amiId!)).toMatchObject({ region: 'us-west-2', state: 'pending', name: 'two copies' });
  });

  it('counts the copies in the overall progress and completes with every region named', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'copy progress', copyToRegions: ['us-west-2'] }, { volumesGiB: [10] });
    h.fake.complete(c.amiId!);
    await h.tick();
    const copyId = (await h.status(c.id)).copies[0]!.amiId!;

    h.fake.advance(copyId, 50);
    h.clock.advance(1000);
    await h.tick();
    // Source 10 GiB done and half of the copy's 10 GiB: 15 of 20.
    const copying = await h.status(c.id);
    expect(copying).toMatchObject({ stage: 'COPYING', progress: 75, message: 'Copying to us-west-2 - 50%' });
    expect(copying.copies[0]).toMatchObject({ status: 'IN_PROGRESS', progress: 50, message: 'Copying - 50%' });

    h.fake.complete(copyId);
    h.clock.advance(1000);
    await h.tick();
    const done = await h.status(c.id);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      stage: 'DONE',
      progress: 100,
      message: `AMI ${c.amiId} is available in us-east-1 and us-west-2`,
    });
    expect(done.copies[0]).toMatchObject({ status: 'COMPLETED', progress: 100, message: `Available as ${copyId}` });
    expect(await h.ami(copyId)).toMatchObject({ region: 'us-west-2', state: 'AVAILABLE', creationId: c.id });
    expect(h.fake.image(copyId).tags).toContainEqual({ key: 'prism:creation-id', value: c.id });
  });

  it("ends PARTIALLY_COMPLETED with EC2's reason when a copy fails and another succeeds", async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'one copy fails', copyToRegions: ['us-west-2', 'eu-west-1'] }, { volumesGiB: [10] });
    h.fake.complete(c.amiId!);
    await h.tick();
    const [west, eu] = (await h.status(c.id)).copies;
    h.fake.fail(west!.amiId!, 'Client.InternalError: Copy failed');
    h.fake.complete(eu!.amiId!);
    h.clock.advance(1000);
    await h.tick();
    const done = await h.status(c.id);
    expect(done).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      stage: 'DONE',
      progress: 100,
      message: `AMI ${c.amiId} is available in us-east-1 and eu-west-1; copies to us-west-2 failed`,
    });
    expect(done.copies.map((x) => [x.region, x.status, x.message, x.failureReason])).toEqual([
      ['us-west-2', 'FAILED', 'Copy failed: Client.InternalError: Copy failed', 'Client.InternalError: Copy failed'],
      ['eu-west-1', 'COMPLETED', `Available as ${eu!.amiId}`, null],
    ]);
    expect((await h.ami(west!.amiId!))?.state).toBe('FAILED');
  });

  it('fails the copy at once when EC2 rejects CopyImage, and the creation ends PARTIALLY_COMPLETED', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'copy rejected', copyToRegions: ['us-west-2'] }, { volumesGiB: [10] });
    h.fake.complete(c.amiId!);
    h.fake.failNext('CopyImage', { error: { code: 'InvalidParameterValue', message: 'Invalid region' } });
    await h.tick();
    const done = await h.status(c.id);
    expect(done.copies[0]).toMatchObject({
      status: 'FAILED',
      amiId: null,
      // Current behaviour: the ValidationError's own wording is kept in the copy's reason.
      failureReason: 'Invalid input: input: EC2 rejected the request (InvalidParameterValue): Invalid region',
    });
    expect(done).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      message: `AMI ${c.amiId} is available in us-east-1; copies to us-west-2 failed`,
    });
    expect(h.fake.images('us-west-2')).toEqual([]);
  });

  it('sends a CopyImage whose answer was lost again with the same ClientToken and gets the same copy, never a second', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'lost copy answer', copyToRegions: ['us-west-2'] }, { volumesGiB: [10] });
    h.fake.complete(c.amiId!);
    // EC2 makes the copy, the answer is lost, and the copy is not listed yet (so not found by its tag).
    h.fake.failNext('CopyImage', { error: { code: 'InternalError', status: 500 }, afterApplying: true });
    h.fake.hideNextImages(1);
    await h.tick();
    expect((await h.status(c.id)).copies[0]).toMatchObject({
      status: 'PENDING',
      amiId: null,
      message: 'Waiting to start the copy (EC2 is busy)',
    });

    // The region is backed off (at most 3 intervals after one failure).
    h.clock.advance(3000);
    const { calls } = await h.tick();
    expect(calls.filter((x) => x.action === 'DescribeImages' && x.region === 'us-west-2').map((x) => x.args)).toEqual([
      { tag: { key: 'prism:creation-id', values: [c.id] } },
    ]);
    const copyCalls = h.fake.callsOf('CopyImage').map((x) => (x.args as CopyArgs).clientToken);
    expect(copyCalls).toEqual([copyClientToken(c.id, 'us-west-2'), copyClientToken(c.id, 'us-west-2')]);
    const images = h.fake.images('us-west-2');
    expect(images).toHaveLength(1);
    expect((await h.status(c.id)).copies[0]).toMatchObject({ status: 'IN_PROGRESS', amiId: images[0]!.id });
  });

  it("fails the creation with EC2's StateReason when the source image fails, and never starts the copies", async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'source fails', copyToRegions: ['us-west-2'] }, { volumesGiB: [10] });
    h.fake.advance(c.amiId!, 30);
    await h.tick();
    h.fake.fail(c.amiId!, 'Client.InvalidSnapshot.NotFound: snapshot went away');
    h.clock.advance(1000);
    await h.tick();
    const failed = await h.status(c.id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      stage: 'SNAPSHOTTING',
      // 30% of the source, which is half the work with one copy to make.
      progress: 15,
      failureReason: 'Client.InvalidSnapshot.NotFound: snapshot went away',
      message: 'Failed: Client.InvalidSnapshot.NotFound: snapshot went away',
    });
    expect(failed.copies[0]).toMatchObject({ status: 'FAILED', message: 'Not started: the source image failed' });
    expect(h.fake.callsOf('CopyImage')).toEqual([]);
  });
});
