// Parity: what launchInstance relies on in RunInstances behaves the same on the simulator and on
// moto: an unknown key pair or subnet is refused with EC2's code, a key pair made with CreateKeyPair
// and a default subnet from DescribeSubnets are accepted, and the instance and its volumes carry
// the TagSpecifications. moto runs an instance at once (it answers pending, then running on the next
// DescribeInstances); the simulator after its 2 s transition, which the scenario lets pass.
import {
  CreateKeyPairCommand,
  DescribeKeyPairsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, expectEc2Error, LAUNCH_IMAGE_ID, tagMap, waitForInstance, type Backend } from './backends.js';

const UNKNOWN_SUBNET = 'subnet-0123456789abcdef0';

describe.each(BACKENDS)('launching on $name', ({ start }) => {
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

  const run = (extra: Partial<RunInstancesCommandInput> = {}) =>
    b
      .ec2()
      .send(new RunInstancesCommand({ ImageId: LAUNCH_IMAGE_ID, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra }));

  it('refuses an unknown key pair with InvalidKeyPair.NotFound', async () => {
    await expectEc2Error(run({ KeyName: 'nobody-has-this-key' }), 'InvalidKeyPair.NotFound');
  });

  it('refuses an unknown subnet with InvalidSubnetID.NotFound', async () => {
    await expectEc2Error(run({ SubnetId: UNKNOWN_SUBNET }), 'InvalidSubnetID.NotFound');
  });

  it('accepts a key pair from CreateKeyPair and a default subnet from DescribeSubnets, and reports both', async () => {
    const key = await b.ec2().send(new CreateKeyPairCommand({ KeyName: 'parity-key' }));
    expect(key.KeyMaterial).toMatch(/PRIVATE KEY/);
    const listed = await b.ec2().send(new DescribeKeyPairsCommand({ KeyNames: ['parity-key'] }));
    expect(listed.KeyPairs?.map((k) => k.KeyName)).toEqual(['parity-key']);
    const subnets = await b.ec2().send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
    const subnet = subnets.Subnets?.find((s) => s.AvailabilityZone === 'us-east-1b');
    expect(subnet?.SubnetId).toMatch(/^subnet-[0-9a-f]+$/);

    const out = await run({ KeyName: 'parity-key', SubnetId: subnet?.SubnetId });
    const running = await waitForInstance(b, out.Instances?.[0]?.InstanceId ?? '', 'running');
    expect(running).toMatchObject({
      KeyName: 'parity-key',
      SubnetId: subnet?.SubnetId,
      VpcId: subnet?.VpcId,
      Placement: { AvailabilityZone: 'us-east-1b' },
    });
  });

  it('tags the instance and its volumes from TagSpecifications, pending at first, running after', async () => {
    const tags = [
      { Key: 'Name', Value: 'relaunched' },
      { Key: 'prism:owner', Value: 'tester' },
    ];
    const out = await run({
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
    const launched = out.Instances?.[0];
    expect(launched?.State?.Name).toBe('pending');
    expect(tagMap(launched?.Tags)).toEqual({ Name: 'relaunched', 'prism:owner': 'tester' });
    const running = await waitForInstance(b, launched?.InstanceId ?? '', 'running');
    expect(tagMap(running.Tags)).toEqual({ Name: 'relaunched', 'prism:owner': 'tester' });
    const volumes = await b
      .ec2()
      .send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [running.InstanceId ?? ''] }] }));
    expect(volumes.Volumes?.length).toBeGreaterThan(0);
    for (const v of volumes.Volumes ?? []) expect(tagMap(v.Tags)).toEqual({ Name: 'relaunched', 'prism:owner': 'tester' });
  });
});
