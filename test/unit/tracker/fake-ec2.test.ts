// The in-memory EC2 fake behaves as the tracker relies on EC2 (and the real gateway) to behave.
import { describe, expect, it } from 'vitest';
import { Ec2CallError, isNotFound, isRejection, isThrottling, isTransient } from '../../../src/services/ec2/errors.js';
import { createFakeEc2 } from '../../support/fake-ec2.js';

const tags = [{ key: 'prism:creation-id', value: 'c1' }];

async function imageOf(fake: ReturnType<typeof createFakeEc2>, volumesGiB = [8]): Promise<string> {
  const instanceId = fake.addInstance({ volumesGiB });
  return fake.createImage('us-east-1', { instanceId, name: `image ${fake.calls.length}`, noReboot: true, tags });
}

describe('the EC2 fake', () => {
  it('counts requests as the gateway does: more than 1000 ids are several, an empty batch none', async () => {
    const fake = createFakeEc2();
    const ids = Array.from({ length: 2001 }, (_, i) => `ami-${i.toString(16).padStart(17, '0')}`);
    await fake.findImages('us-east-1', { ids });
    expect(fake.callCount()).toBe(3);
    await fake.findImages('us-east-1', { ids: [] });
    await fake.describeSnapshots('us-east-1', []);
    await fake.createTags('us-east-1', [], tags);
    expect(fake.callCount()).toBe(3);
    await fake.findImages('us-east-1', { tag: { key: 'prism:creation-id', values: ['c1'] } });
    expect(fake.calls.map((c) => c.action)).toEqual(['DescribeImages', 'DescribeImages', 'DescribeImages', 'DescribeImages']);
  });

  it('throws injected faults shaped as the gateway throws them, and counts the failed request', async () => {
    const fake = createFakeEc2();
    fake.failNext('DescribeImages', { region: 'us-west-2' });
    fake.failNext('CreateTags', { error: { code: 'InvalidParameterValue', message: 'bad tag' } });
    fake.failNext('DescribeSnapshots', { error: 'network', times: 2 });

    await expect(fake.findImages('us-east-1', {})).resolves.toEqual([]);
    const throttled = await fake.findImages('us-west-2', {}).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(Ec2CallError);
    expect(throttled).toMatchObject({
      ec2Code: 'RequestLimitExceeded',
      action: 'DescribeImages',
      region: 'us-west-2',
      httpStatus: 503,
    });
    expect(isThrottling(throttled)).toBe(true);

    const rejected = await fake.createTags('us-east-1', ['ami-1'], tags).catch((e: unknown) => e);
    expect(rejected).toMatchObject({ ec2Code: 'InvalidParameterValue', message: 'bad tag', httpStatus: 400 });
    expect(isRejection(rejected)).toBe(true);

    for (let i = 0; i < 2; i++) {
      const reset = await fake.describeSnapshots('us-east-1', ['snap-1']).catch((e: unknown) => e);
      expect(reset).toMatchObject({ ec2Code: 'ECONNRESET', httpStatus: undefined });
      expect(isTransient(reset)).toBe(true);
    }
    await expect(fake.describeSnapshots('us-east-1', ['snap-1'])).resolves.toEqual([]);
    expect(fake.callCount()).toBe(6);
    expect(fake.calls.map((c) => c.errorCode)).toEqual([
      undefined,
      'RequestLimitExceeded',
      'InvalidParameterValue',
      'ECONNRESET',
      'ECONNRESET',
      undefined,
    ]);
  });

  it('answers a repeated CopyImage ClientToken with the first copy, per region', async () => {
    const fake = createFakeEc2();
    const source = await imageOf(fake);
    fake.complete(source);
    const copy = { sourceRegion: 'us-east-1', sourceImageId: source, name: 'copied', clientToken: 'token-1', tags };
    const first = await fake.copyImage('us-west-2', copy);
    expect(await fake.copyImage('us-west-2', copy)).toBe(first);
    expect(await fake.copyImage('eu-west-1', copy)).not.toBe(first);
    expect(fake.images('us-west-2').map((i) => i.id)).toEqual([first]);
    expect(fake.image(first).tags).toEqual(tags);
  });

  it('refuses what EC2 refuses: a duplicate name, a snapshot in use, an unknown image', async () => {
    const fake = createFakeEc2();
    const instanceId = fake.addInstance({ volumesGiB: [8] });
    const image = await fake.createImage('us-east-1', { instanceId, name: 'taken', noReboot: true, tags });
    await expect(fake.createImage('us-east-1', { instanceId, name: 'taken', noReboot: true, tags })).rejects.toMatchObject({
      ec2Code: 'InvalidAMIName.Duplicate',
    });
    const [snapshotId] = fake.image(image).snapshotIds;
    await expect(fake.deleteSnapshot('us-east-1', snapshotId!)).rejects.toMatchObject({ ec2Code: 'InvalidSnapshot.InUse' });
    await fake.deregisterImage('us-east-1', image);
    await fake.deleteSnapshot('us-east-1', snapshotId!);
    const gone = await fake.deregisterImage('us-east-1', image).catch((e: unknown) => e);
    expect(isNotFound(gone)).toBe(true);
  });

  it('lists a hidden image nowhere until it is revealed', async () => {
    const fake = createFakeEc2();
    fake.hideNextImages(1);
    const image = await imageOf(fake);
    const { snapshotIds } = fake.image(image);
    expect(await fake.findImages('us-east-1', { ids: [image] })).toEqual([]);
    expect(await fake.findImages('us-east-1', { tag: { key: 'prism:creation-id', values: ['c1'] } })).toEqual([]);
    expect(await fake.describeSnapshots('us-east-1', snapshotIds)).toEqual([]);
    fake.reveal(image);
    expect((await fake.findImages('us-east-1', { ids: [image] })).map((i) => i.id)).toEqual([image]);
  });
});
