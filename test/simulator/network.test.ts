import {
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  type EC2Client,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_IMAGES } from '../../simulator/index.js';
import { awsCli, expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness;
let ec2: EC2Client;
beforeEach(async () => {
  h = await startHarness();
  ec2 = h.ec2();
});
afterEach(async () => {
  await h.stop();
});

// An unknown instance type is the point of one test, so the SDK's enum type is widened here.
const run = (extra: { SubnetId?: string; KeyName?: string; InstanceType?: string }) =>
  ec2.send(
    new RunInstancesCommand({
      ImageId: BASE_IMAGES.x86_64,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...extra,
    } as RunInstancesCommandInput),
  );

describe('subnets', () => {
  it('has one default subnet per availability zone, the same ids on every call, filterable by zone', async () => {
    const all = ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).sort((x, y) =>
      (x.AvailabilityZone ?? '').localeCompare(y.AvailabilityZone ?? ''),
    );
    expect(all.map((s) => s.AvailabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(all.every((s) => s.DefaultForAz === true && /^subnet-[0-9a-f]{17}$/.test(s.SubnetId ?? ''))).toBe(true);
    const again = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    expect(again.map((s) => s.SubnetId).sort()).toEqual(all.map((s) => s.SubnetId).sort());
    const b = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }));
    expect(b.Subnets?.map((s) => s.SubnetId)).toEqual([all[1]?.SubnetId]);
    const west = (await h.ec2('us-west-2').send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    expect(west.map((s) => s.SubnetId)).not.toContain(all[0]?.SubnetId);
  });

  it('answers InvalidSubnetID.NotFound for an unknown subnet id', async () => {
    await expectEc2Error(
      ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })),
      'InvalidSubnetID.NotFound',
    );
  });
});

describe('key pairs', () => {
  it('creates a key pair with its private key, lists it, refuses a duplicate and deletes it', async () => {
    const created = await ec2.send(new CreateKeyPairCommand({ KeyName: 'lab-key' }));
    expect(created.KeyMaterial).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(created.KeyFingerprint).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    const listed = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['lab-key'] }));
    expect(listed.KeyPairs?.map((k) => [k.KeyName, k.KeyPairId])).toEqual([['lab-key', created.KeyPairId]]);
    await expectEc2Error(ec2.send(new CreateKeyPairCommand({ KeyName: 'lab-key' })), 'InvalidKeyPair.Duplicate');
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'lab-key' }));
    await expectEc2Error(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['lab-key'] })), 'InvalidKeyPair.NotFound');
  });

  it('is read by the AWS CLI (botocore) as well', async () => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'cli-key', KeyType: 'ed25519' }));
    const out = await awsCli(h.sim, 'us-east-1', ['describe-key-pairs']);
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { KeyPairs: { KeyName: string; KeyType: string }[] }).KeyPairs).toEqual([
      expect.objectContaining({ KeyName: 'cli-key', KeyType: 'ed25519' }),
    ]);
  });
});

describe('RunInstances checks the subnet, the key pair and the instance type', () => {
  it('launches into the named subnet (its zone) with the key pair, and shows both on the instance', async () => {
    const zoneB = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }),
    );
    const subnet = zoneB.Subnets?.[0];
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'mine' }));
    const out = await run({ SubnetId: subnet?.SubnetId, KeyName: 'mine' });
    const id = out.Instances?.[0]?.InstanceId ?? '';
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]).toMatchObject({
      SubnetId: subnet?.SubnetId,
      VpcId: subnet?.VpcId,
      KeyName: 'mine',
      Placement: { AvailabilityZone: 'us-east-1b' },
    });
  });

  it('refuses a malformed subnet id, an unknown subnet, an unknown key pair and an unknown instance type, launching nothing', async () => {
    const count = async () =>
      ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? []).length;
    const before = await count();
    await expectEc2Error(run({ SubnetId: 'subnet-xyz' }), 'InvalidSubnetID.Malformed');
    await expectEc2Error(run({ SubnetId: 'subnet-0123456789abcdef0' }), 'InvalidSubnetID.NotFound');
    await expectEc2Error(run({ KeyName: 'nobody' }), 'InvalidKeyPair.NotFound');
    const err = await expectEc2Error(run({ InstanceType: 'zz9.huge' }), 'InvalidParameterValue');
    expect(err.message).toMatch(/InstanceType/);
    expect(await count()).toBe(before);
  });
});
