// Images EC2 did not confirm or does not list yet: an unanswered CreateImage is adopted by its tag
// (never a second image), and "not found" right after CreateImage means "not visible yet" for a while.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const GRACE_MS = 5 * 60 * 1000;

describe('an unanswered CreateImage', () => {
  it('is adopted by its creation-id tag on the next tick, never made a second time', async () => {
    h = await createUnitHarness();
    // EC2 registers the image, then the answer is lost (a 500 after the work).
    h.fake.failNext('CreateImage', { error: { code: 'InternalError', status: 500 }, afterApplying: true });
    const c = await h.create({ name: 'answer lost' }, { volumesGiB: [8] });
    expect(c).toMatchObject({
      status: 'PENDING',
      stage: 'VALIDATING',
      amiId: null,
      message: 'Waiting for EC2 to confirm the image request',
    });
    const [image] = h.fake.images('us-east-1');

    h.clock.advance(1000);
    const { calls } = await h.tick();
    expect(calls[0]).toMatchObject({ action: 'DescribeImages', args: { tag: { key: 'prism:creation-id', values: [c.id] } } });
    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'SNAPSHOTTING',
      amiId: image!.id,
      message: 'Creating snapshot - 0% complete',
    });
    expect(h.fake.callsOf('CreateImage')).toHaveLength(1);
    expect(h.fake.images('us-east-1')).toHaveLength(1);
    expect(await h.ami(image!.id)).toMatchObject({ state: 'PENDING', creationId: c.id });

    h.fake.complete(image!.id);
    h.clock.advance(1000);
    await h.tick();
    expect((await h.status(c.id)).status).toBe('COMPLETED');
  });

  it('is sent again only 30 s after the first request when no image carries the tag or the name, and once', async () => {
    h = await createUnitHarness();
    h.fake.failNext('CreateImage', { error: 'throttle' });
    const c = await h.create({ name: 'request lost' }, { volumesGiB: [8] });
    expect(h.fake.images('us-east-1')).toEqual([]);

    h.clock.advance(29_000);
    await h.tick();
    expect(h.fake.callsOf('CreateImage')).toHaveLength(1);
    expect((await h.status(c.id)).amiId).toBeNull();

    h.clock.advance(2000);
    const { calls } = await h.tick();
    expect(calls.slice(0, 3).map((x) => [x.action, x.args])).toEqual([
      ['DescribeImages', { tag: { key: 'prism:creation-id', values: [c.id] } }],
      ['DescribeImages', { name: 'request lost' }],
      ['CreateImage', expect.objectContaining({ name: 'request lost', instanceId: c.instanceId })],
    ]);
    const [image] = h.fake.images('us-east-1');
    expect(await h.status(c.id)).toMatchObject({ status: 'IN_PROGRESS', amiId: image!.id });

    h.clock.advance(60_000);
    await h.tick();
    expect(h.fake.callsOf('CreateImage')).toHaveLength(2);
    expect(h.fake.images('us-east-1')).toHaveLength(1);
  });
});

describe('an image EC2 does not list yet', () => {
  it('is "not visible yet" within the grace period and tracked as usual once listed', async () => {
    h = await createUnitHarness();
    h.fake.hideNextImages(1);
    const c = await h.create({ name: 'not listed yet' }, { volumesGiB: [8] });
    h.clock.advance(GRACE_MS);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'SNAPSHOTTING',
      message: `Waiting for EC2 to list image ${c.amiId}`,
    });

    h.fake.reveal(c.amiId!);
    h.fake.advance(c.amiId!, 20);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      progress: 20,
      message: 'Creating snapshot - 20% complete',
    });
  });

  it('ends FAILED once the grace period after CreateImage has passed', async () => {
    h = await createUnitHarness();
    h.fake.hideNextImages(1);
    const c = await h.create({ name: 'never listed' }, { volumesGiB: [8] });
    h.clock.advance(GRACE_MS + 1);
    await h.tick();
    const reason = `EC2 no longer lists image ${c.amiId}; it was deregistered or never registered`;
    expect(await h.status(c.id)).toMatchObject({ status: 'FAILED', failureReason: reason, message: `Failed: ${reason}` });
    expect((await h.ami(c.amiId!))?.state).toBe('FAILED');
  });

  it('fails only the copy that EC2 never lists, and the creation ends PARTIALLY_COMPLETED', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'copy never listed', copyToRegions: ['us-west-2'] }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    h.fake.hideNextImages(1);
    await h.tick();
    const copyId = (await h.status(c.id)).copies[0]!.amiId!;

    h.clock.advance(60_000);
    await h.tick();
    expect((await h.status(c.id)).copies[0]).toMatchObject({
      status: 'IN_PROGRESS',
      message: `Waiting for EC2 to list ${copyId}`,
    });

    h.clock.advance(GRACE_MS);
    await h.tick();
    const reason = `EC2 no longer lists copy ${copyId} in us-west-2`;
    expect((await h.status(c.id)).copies[0]).toMatchObject({ status: 'FAILED', message: reason, failureReason: reason });
    expect(await h.status(c.id)).toMatchObject({
      status: 'PARTIALLY_COMPLETED',
      message: `AMI ${c.amiId} is available in us-east-1; copies to us-west-2 failed`,
    });
  });
});
