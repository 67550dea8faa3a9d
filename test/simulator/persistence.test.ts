import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_IMAGES, SEEDED_INSTANCES, startSimulator } from '../../simulator/index.js';
import { startHarness, START, type Harness } from './helpers.js';

const ssmOf = (h: Harness): SSMClient =>
  new SSMClient({
    region: 'us-east-1',
    endpoint: h.sim.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-sim-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('persistence', () => {
  it('keeps instances, images and in-flight snapshots across stop and start, progress continuing from the clock', async () => {
    const statePath = join(dir, 'nested', 'state.json');
    let clock = START;
    const first = await startHarness({ statePath, speedGiBPerSecond: 1, now: () => clock });
    const ec2 = first.ec2();
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'added' }] }],
      }),
    );
    const added = run.Instances?.[0]?.InstanceId ?? '';
    const { ImageId } = await ec2.send(
      new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'survives' }),
    );
    clock += 6_000; // 6 of 30 GiB: 20%
    await first.stop();
    expect(JSON.parse(await readFile(statePath, 'utf8'))).toMatchObject({ version: 1 });

    clock += 9_000; // 15 s since the start: 50%
    const second = await startHarness({ statePath, speedGiBPerSecond: 1, now: () => clock });
    const ec2b = second.ec2();
    const image = (await ec2b.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    expect(image).toMatchObject({ Name: 'survives', State: 'pending' });
    const snapshotId = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const snap = (await ec2b.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
    expect(snap?.Progress).toBe('50%');
    const inst = await ec2b.send(new DescribeInstancesCommand({ InstanceIds: [added] }));
    expect(inst.Reservations?.[0]?.Instances?.[0]?.Tags).toEqual([{ Key: 'Name', Value: 'added' }]);

    clock += 15_000;
    const done = (await ec2b.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    expect(done?.State).toBe('available');
    await second.stop();
  });

  it('keeps state only in memory without a statePath', async () => {
    const first = await startHarness();
    await first.ec2().send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'gone' }));
    await first.stop();
    const second = await startHarness();
    expect((await second.ec2().send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
    await second.stop();
  });

  it('refuses to start from a corrupt state file instead of overwriting it', async () => {
    const statePath = join(dir, 'state.json');
    await writeFile(statePath, '{not json');
    await expect(startSimulator({ statePath })).rejects.toThrow(/not valid JSON/);
    expect(await readFile(statePath, 'utf8')).toBe('{not json');
  });

  it('keeps image settings and SSM parameters across a restart, and loads a file written before parameters existed', async () => {
    const statePath = join(dir, 'state.json');
    const first = await startHarness({ statePath });
    const ec2 = first.ec2();
    const { ImageId = '' } = await ec2.send(
      new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'keep' }),
    );
    await ec2.send(new EnableImageDeprecationCommand({ ImageId, DeprecateAt: new Date('2027-06-01T00:00:00Z') }));
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId, ImdsSupport: { Value: 'v2.0' } }));
    const ssm = ssmOf(first);
    await ssm.send(new PutParameterCommand({ Name: '/keep', Value: ImageId, Type: 'String', DataType: 'aws:ec2:image' }));
    ssm.destroy();
    await first.stop();

    const second = await startHarness({ statePath });
    const image = (await second.ec2().send(new DescribeImagesCommand({ ImageIds: [ImageId] }))).Images?.[0];
    expect(image).toMatchObject({
      DeprecationTime: '2027-06-01T00:00:00.000Z',
      DeregistrationProtection: 'enabled',
      ImdsSupport: 'v2.0',
    });
    const ssm2 = ssmOf(second);
    expect((await ssm2.send(new GetParameterCommand({ Name: '/keep' }))).Parameter).toMatchObject({ Value: ImageId, Version: 1 });
    ssm2.destroy();
    await second.stop();

    // An older file: no parameters (nor key pairs) in its regions.
    const doc = JSON.parse(await readFile(statePath, 'utf8')) as { regions: Record<string, Record<string, unknown>> };
    for (const region of Object.values(doc.regions)) {
      delete region.parameters;
      delete region.keyPairs;
    }
    await writeFile(statePath, JSON.stringify(doc));
    const third = await startHarness({ statePath });
    const again = (await third.ec2().send(new DescribeImagesCommand({ ImageIds: [ImageId] }))).Images?.[0];
    expect(again?.Name).toBe('keep');
    await third.stop();
  });
});
