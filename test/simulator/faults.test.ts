import { CreateImageCommand, DescribeImagesCommand, DescribeRegionsCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('throttling', () => {
  it('answers every call with RequestLimitExceeded (HTTP 503) at rate 1 and counts it as throttled', async () => {
    h = await startHarness({ throttleRate: 1 });
    await expectEc2Error(h.ec2('us-east-1', 1).send(new DescribeRegionsCommand({})), 'RequestLimitExceeded', 503);
    const stats = await h.control('GET', '/_simulator/stats');
    expect(stats.json).toMatchObject({ throttled: 1, calls: { DescribeRegions: 1 } });
  });

  it('lets the SDK retry through throttling when only some calls are throttled', async () => {
    // random() sequence: first call throttled (0.1 < 0.5), the retry admitted (0.9).
    const values = [0.1, 0.9];
    h = await startHarness({ throttleRate: 0.5, random: () => values.shift() ?? 0.9 });
    const out = await h.ec2('us-east-1', 3).send(new DescribeRegionsCommand({}));
    expect(out.Regions?.length).toBe(17);
    const stats = await h.control('GET', '/_simulator/stats');
    expect(stats.json).toMatchObject({ throttled: 1, calls: { DescribeRegions: 2 } });
  });

  it('with token buckets on, throttles a burst beyond the unfiltered non-mutating bucket (50) and refills with time', async () => {
    h = await startHarness({ tokenBucket: true });
    const ec2 = h.ec2('us-east-1', 1);
    for (let i = 0; i < 50; i++) await ec2.send(new DescribeRegionsCommand({}));
    await expectEc2Error(ec2.send(new DescribeRegionsCommand({})), 'RequestLimitExceeded', 503);
    h.advance(1); // 10 tokens per second
    await ec2.send(new DescribeRegionsCommand({}));
  });
});

describe('image failures', () => {
  it('at fail rate 1, fails the image partway through with a StateReason and errored snapshots', async () => {
    // random(): 0 → fails (below failRate 1); then 0.5 → fails at 10% + 0.5 × 80% = 50%.
    const values = [0, 0.5];
    h = await startHarness({ failRate: 1, speedGiBPerSecond: 1, random: () => values.shift() ?? 0.5 });
    const ec2 = h.ec2();
    const { ImageId } = await ec2.send(
      new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'doomed' }),
    );
    const describe = async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    h.advance(10); // 33%
    expect((await describe())?.State).toBe('pending');
    h.advance(10); // past 50%
    const failed = await describe();
    expect(failed?.State).toBe('failed');
    expect(failed?.StateReason?.Code).toBe('Server.InternalError');
    expect(failed?.StateReason?.Message).toMatch(/^Snapshot creation failed: /);
    const snapshotId = failed?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const snap = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
    expect(snap).toMatchObject({ State: 'error', Progress: '50%' });
    h.advance(100);
    expect((await describe())?.State).toBe('failed');
  });

  it('at fail rate 0, never fails', async () => {
    h = await startHarness({ failRate: 0, speedGiBPerSecond: 1, random: () => 0 });
    const ec2 = h.ec2();
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['teaching-env'], Name: 'fine' }));
    h.advance(16);
    const img = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    expect(img?.State).toBe('available');
  });
});

describe('/_simulator control surface', () => {
  it('counts calls by action and region, and resets the counts', async () => {
    h = await startHarness();
    await h.ec2('us-east-1').send(new DescribeRegionsCommand({}));
    await h.ec2('eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    await h.ec2('eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    const stats = await h.control('GET', '/_simulator/stats');
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({
      total: 3,
      calls: { DescribeRegions: 1, DescribeImages: 2 },
      byRegion: { 'us-east-1': { DescribeRegions: 1 }, 'eu-west-1': { DescribeImages: 2 } },
      throttled: 0,
    });
    await h.control('POST', '/_simulator/stats/reset');
    expect((await h.control('GET', '/_simulator/stats')).json).toMatchObject({ total: 0, calls: {} });
  });

  it('changes throttling, block public access and speed at runtime', async () => {
    h = await startHarness({ speedGiBPerSecond: 1 });
    const ec2 = h.ec2();
    const { ImageId } = await ec2.send(
      new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'speed-change' }),
    );
    const snapshotId =
      (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0]?.BlockDeviceMappings?.[0]?.Ebs
        ?.SnapshotId ?? '';
    const progress = async () =>
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0]?.Progress;
    h.advance(15);
    expect(await progress()).toBe('50%');

    const res = await h.control('POST', '/_simulator/config', { speed: 0.1, throttleRate: 1, blockPublicAccess: true });
    expect(res).toMatchObject({ status: 200, json: { speedGiBPerSecond: 0.1, throttleRate: 1, blockPublicAccess: true } });
    await expectEc2Error(ec2.send(new DescribeRegionsCommand({})), 'RequestLimitExceeded', 503);
    await h.control('POST', '/_simulator/config', { throttleRate: 0 });

    // The slower speed applies from the change on: 50% stays 50%, then +3 GiB in 30 s = +10%.
    expect(await progress()).toBe('50%');
    h.advance(30);
    expect(await progress()).toBe('60%');
  });

  it('rejects an invalid configuration with 400 and leaves the configuration as it was', async () => {
    h = await startHarness();
    const res = await h.control('POST', '/_simulator/config', { throttleRate: 2 });
    expect(res.status).toBe(400);
    expect((await h.control('GET', '/_simulator/config')).json).toMatchObject({ throttleRate: 0 });
  });

  it('resets every region to the seeded state', async () => {
    h = await startHarness();
    const ec2 = h.ec2();
    await ec2.send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'wiped' }));
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toHaveLength(1);
    expect((await h.control('POST', '/_simulator/reset')).status).toBe(200);
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
  });

  it('answers 404 for an unknown control route', async () => {
    h = await startHarness();
    expect((await h.control('GET', '/_simulator/nope')).status).toBe(404);
  });
});
