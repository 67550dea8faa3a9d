// Parity: instances and volumes behave the same on the simulator and on moto, as the real SDK sees them.
import {
  CreateImageCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, expectEc2Error, launch, LAUNCH_IMAGE_ID, tagMap, UNKNOWN, waitForInstance, type Backend } from './backends.js';

describe.each(BACKENDS)('instances on $name', ({ start }) => {
  let b: Backend;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });
  beforeEach(async () => {
    await b.reset();
  });

  const instancesWhere = async (filters: Record<string, string[]>) => {
    const out = await b
      .ec2()
      .send(new DescribeInstancesCommand({ Filters: Object.entries(filters).map(([Name, Values]) => ({ Name, Values })) }));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
  };

  it('RunInstances answers a pending instance with its Name tag, which DescribeInstances then reports running', async () => {
    const out = await b.ec2().send(
      new RunInstancesCommand({
        ImageId: LAUNCH_IMAGE_ID,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'Name', Value: 'lab-box' },
              { Key: 'team', Value: 'bio' },
            ],
          },
        ],
      }),
    );
    const launched = out.Instances?.[0];
    expect(out.Instances).toHaveLength(1);
    expect(launched).toMatchObject({ ImageId: LAUNCH_IMAGE_ID, InstanceType: 't3.micro', State: { Code: 0, Name: 'pending' } });
    expect(out.OwnerId).toBe(b.accountId);

    const running = await waitForInstance(b, launched?.InstanceId ?? '', 'running');
    expect(running.State).toEqual({ Code: 16, Name: 'running' });
    expect(tagMap(running.Tags)).toEqual({ Name: 'lab-box', team: 'bio' });
    expect(running.Architecture).toBe('x86_64');
    expect(running.BlockDeviceMappings?.[0]?.DeviceName).toBe(running.RootDeviceName);
  });

  it('finds instances by tag:Name (with wildcards) and instance-state-name, and by nothing else', async () => {
    const alpha = await launch(b, 'alpha-node');
    const beta = await launch(b, 'beta-node');
    await b.ec2().send(new StopInstancesCommand({ InstanceIds: [beta.InstanceId ?? ''] }));
    await waitForInstance(b, beta.InstanceId ?? '', 'stopped');

    expect(await instancesWhere({ 'tag:Name': ['alpha-node'] })).toEqual([alpha.InstanceId]);
    expect((await instancesWhere({ 'tag:Name': ['*-node'] })).sort()).toEqual([alpha.InstanceId, beta.InstanceId].sort());
    expect(await instancesWhere({ 'tag:Name': ['alph?-node'] })).toEqual([alpha.InstanceId]);
    expect(await instancesWhere({ 'tag:Name': ['*-node'], 'instance-state-name': ['running'] })).toEqual([alpha.InstanceId]);
    expect(await instancesWhere({ 'tag:Name': ['*-node'], 'instance-state-name': ['stopped'] })).toEqual([beta.InstanceId]);
    expect(await instancesWhere({ 'tag:Name': ['gamma-node'] })).toEqual([]);
  });

  it('reports a stopped instance as stopped and a terminated one as terminated, with its volume gone', async () => {
    const box = await launch(b, 'short-lived');
    const id = box.InstanceId ?? '';
    const stop = await b.ec2().send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances?.[0]).toMatchObject({
      InstanceId: id,
      PreviousState: { Name: 'running' },
      CurrentState: { Name: 'stopping' },
    });
    expect((await waitForInstance(b, id, 'stopped')).State).toEqual({ Code: 80, Name: 'stopped' });

    const term = await b.ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances?.[0]).toMatchObject({
      InstanceId: id,
      PreviousState: { Name: 'stopped' },
      CurrentState: { Name: 'shutting-down' },
    });
    await waitForInstance(b, id, 'terminated');
    expect(await instancesWhere({ 'instance-state-name': ['terminated'] })).toEqual([id]);
    const volumes = await b
      .ec2()
      .send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(volumes.Volumes).toEqual([]);
  });

  it("DescribeVolumes lists the instance's 8 GiB root volume, in use and attached at its root device", async () => {
    const box = await launch(b, 'volume-box');
    const volumeId = box.BlockDeviceMappings?.[0]?.Ebs?.VolumeId ?? '';
    expect(volumeId).toMatch(/^vol-[0-9a-f]+$/);

    const byInstance = await b
      .ec2()
      .send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [box.InstanceId ?? ''] }] }));
    expect(byInstance.Volumes).toHaveLength(1);
    const volume = byInstance.Volumes?.[0];
    expect(volume).toMatchObject({ VolumeId: volumeId, Size: 8, State: 'in-use', Encrypted: false });
    expect(volume?.AvailabilityZone).toMatch(/^us-east-1[a-z]$/);
    expect(volume?.Attachments).toEqual([
      expect.objectContaining({ InstanceId: box.InstanceId, VolumeId: volumeId, Device: box.RootDeviceName, State: 'attached' }),
    ]);

    const byId = await b.ec2().send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    expect(byId.Volumes?.map((v) => v.VolumeId)).toEqual([volumeId]);
  });

  it('answers InvalidInstanceID.NotFound for an unknown instance in DescribeInstances, StopInstances and CreateImage', async () => {
    await expectEc2Error(
      b.ec2().send(new DescribeInstancesCommand({ InstanceIds: [UNKNOWN.instance] })),
      'InvalidInstanceID.NotFound',
    );
    await expectEc2Error(
      b.ec2().send(new StopInstancesCommand({ InstanceIds: [UNKNOWN.instance] })),
      'InvalidInstanceID.NotFound',
    );
    await expectEc2Error(
      b.ec2().send(new CreateImageCommand({ InstanceId: UNKNOWN.instance, Name: 'orphan image' })),
      'InvalidInstanceID.NotFound',
    );
  });

  it('answers InvalidVolume.NotFound for an unknown volume id', async () => {
    await expectEc2Error(b.ec2().send(new DescribeVolumesCommand({ VolumeIds: [UNKNOWN.volume] })), 'InvalidVolume.NotFound');
  });

  it('DescribeRegions lists the usual commercial regions, each with its EC2 endpoint, and narrows to RegionNames', async () => {
    const all = await b.ec2().send(new DescribeRegionsCommand({}));
    const names = (all.Regions ?? []).map((r) => r.RegionName);
    expect(names).toEqual(expect.arrayContaining(['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2']));
    const some = await b.ec2().send(new DescribeRegionsCommand({ RegionNames: ['us-west-2', 'eu-central-1'] }));
    expect((some.Regions ?? []).map((r) => r.RegionName).sort()).toEqual(['eu-central-1', 'us-west-2']);
    for (const r of some.Regions ?? []) expect(r.Endpoint).toContain(r.RegionName);
  });

  it('keeps regions apart: an instance launched in us-east-1 is unknown in us-west-2', async () => {
    const box = await launch(b, 'east-only');
    await expectEc2Error(
      b.ec2('us-west-2').send(new DescribeInstancesCommand({ InstanceIds: [box.InstanceId ?? ''] })),
      'InvalidInstanceID.NotFound',
    );
  });
});
