import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_IMAGES, SEEDED_INSTANCES } from '../../simulator/index.js';
import { expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness;
let ec2: EC2Client;
beforeEach(async () => {
  h = await startHarness();
  ec2 = h.ec2();
});
afterEach(async () => {
  await h.stop();
});

const stateOf = async (id: string) =>
  (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;

describe('instances', () => {
  it('launches from a base image: pending, then running, with an 8 GiB root volume and the requested tags', async () => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.arm64,
        InstanceType: 't4g.small',
        MinCount: 2,
        MaxCount: 2,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'mine' }] }],
      }),
    );
    expect(out.Instances).toHaveLength(2);
    const id = out.Instances?.[0]?.InstanceId ?? '';
    expect(out.Instances?.[0]).toMatchObject({ State: { Name: 'pending' }, Architecture: 'arm64', InstanceType: 't4g.small' });
    h.advance(3);
    expect(await stateOf(id)).toBe('running');
    const volumes = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(volumes.Volumes?.map((v) => v.Size)).toEqual([8]);
    const named = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['mine'] }] }));
    expect(named.Reservations).toHaveLength(1); // one RunInstances call = one reservation
    expect(named.Reservations?.[0]?.Instances).toHaveLength(2);
  });

  it('sizes volumes from BlockDeviceMappings', async () => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: 1,
        MaxCount: 1,
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20 } },
          { DeviceName: '/dev/sdb', Ebs: { VolumeSize: 100, VolumeType: 'gp3' } },
        ],
      }),
    );
    const id = out.Instances?.[0]?.InstanceId ?? '';
    const volumes = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(volumes.Volumes?.map((v) => v.Size).sort((a = 0, b = 0) => a - b)).toEqual([20, 100]);
  });

  it('rejects launching from an unknown image with InvalidAMIID.NotFound', async () => {
    await expectEc2Error(
      ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1 })),
      'InvalidAMIID.NotFound',
    );
  });

  it('stops, starts and terminates through the intermediate states', async () => {
    const id = SEEDED_INSTANCES['demo-workstation'];
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances?.[0]).toMatchObject({ PreviousState: { Name: 'running' }, CurrentState: { Name: 'stopping' } });
    h.advance(3);
    expect(await stateOf(id)).toBe('stopped');
    const start = await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(start.StartingInstances?.[0]).toMatchObject({ PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'pending' } });
    h.advance(3);
    expect(await stateOf(id)).toBe('running');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await stateOf(id)).toBe('shutting-down');
    h.advance(3);
    expect(await stateOf(id)).toBe('terminated');
    await expectEc2Error(ec2.send(new StartInstancesCommand({ InstanceIds: [id] })), 'IncorrectInstanceState');
  });

  it('changes no instance when one id of the call is unknown', async () => {
    const id = SEEDED_INSTANCES['demo-workstation'];
    await expectEc2Error(
      ec2.send(new StopInstancesCommand({ InstanceIds: [id, 'i-0123456789abcdef0'] })),
      'InvalidInstanceID.NotFound',
    );
    expect(await stateOf(id)).toBe('running');
  });

  it('rejects malformed instance ids with InvalidInstanceID.Malformed', async () => {
    await expectEc2Error(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-123'] })), 'InvalidInstanceID.Malformed');
  });

  it('pages DescribeInstances and refuses MaxResults together with InstanceIds', async () => {
    await ec2.send(new RunInstancesCommand({ ImageId: BASE_IMAGES.x86_64, MinCount: 4, MaxCount: 4 }));
    const first = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    const second = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: first.NextToken }));
    const ids = [first, second].flatMap((p) => p.Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId) ?? []) ?? []);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
    expect(second.NextToken).toBeUndefined();
    await expectEc2Error(
      ec2.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: [SEEDED_INSTANCES['teaching-env']] })),
      'InvalidParameterCombination',
    );
  });

  it('filters by an owner tag, several states and a Name wildcard (an escaped * is literal), and pages the filtered list', async () => {
    const launch = async (name: string, owner: string) =>
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: BASE_IMAGES.x86_64,
            MinCount: 1,
            MaxCount: 1,
            TagSpecifications: [
              {
                ResourceType: 'instance',
                Tags: [
                  { Key: 'Name', Value: name },
                  { Key: 'prism:owner', Value: owner },
                ],
              },
            ],
          }),
        )
      ).Instances?.[0]?.InstanceId ?? '';
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) mine.push(await launch(`lab-${i}`, 'alice'));
    const star = await launch('lab*', 'alice');
    await launch('lab-bob', 'bob');
    h.advance(3);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [mine[0]!] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [mine[1]!] }));
    const filters = (name: string) => [
      { Name: 'tag:prism:owner', Values: ['alice'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
      { Name: 'tag:Name', Values: [name] },
    ];
    const idsOf = (out: { Reservations?: { Instances?: { InstanceId?: string }[] }[] }) =>
      (out.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId ?? ''));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: filters('*lab*'), MaxResults: 5, NextToken: token }));
      seen.push(...idsOf(out));
      token = out.NextToken;
      pages++;
    } while (token && pages < 10);
    // mine[1] is still shutting-down (a listed state) until the clock moves; mine[0] is stopping.
    expect(pages).toBe(2);
    expect([...seen].sort()).toEqual([...mine, star].sort());
    expect(idsOf(await ec2.send(new DescribeInstancesCommand({ Filters: filters('*\\**') })))).toEqual([star]);
    await expectEc2Error(
      ec2.send(new DescribeInstancesCommand({ Filters: filters('*'), MaxResults: 4 })),
      'InvalidParameterValue',
    );
  });

  it('leaves an unknown id of a volume-id filter out of the answer instead of failing', async () => {
    const known = (await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }))).Volumes?.[0]?.VolumeId ?? '';
    const out = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [known, 'vol-0123456789abcdef0'] }] }),
    );
    expect(out.Volumes?.map((v) => v.VolumeId)).toEqual([known]);
  });

  it('pages DescribeVolumes and filters by volume-id', async () => {
    await ec2.send(new RunInstancesCommand({ ImageId: BASE_IMAGES.x86_64, MinCount: 3, MaxCount: 3 }));
    const first = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(first.Volumes).toHaveLength(5);
    const second = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: first.NextToken }));
    expect(second.Volumes).toHaveLength(2); // 4 seeded + 3 new
    const one = first.Volumes?.[0]?.VolumeId ?? '';
    const byId = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [one] }] }));
    expect(byId.Volumes?.map((v) => v.VolumeId)).toEqual([one]);
  });

  it('deletes the volumes of a terminated instance', async () => {
    const id = SEEDED_INSTANCES['genomics-pipeline'];
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const volumes = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(volumes.Volumes).toEqual([]);
  });
});
