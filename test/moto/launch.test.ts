// launchInstance against moto (an independent EC2): the new instance carries Name and prism:owner
// (instance and volumes), is owned by the viewer and listed in `instances`, and instance(id) reads
// it back; another user cannot launch the private AMI. moto runs an instance at once, so the launch
// answers PENDING and the next read RUNNING.
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  CreateAmiDocument,
  InstanceDocument,
  InstancesDocument,
  LaunchInstanceDocument,
} from '../../src/generated/graphql/graphql.js';
import { eventually, ownerTag, startTestApp, tagMap, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';

let moto: Moto;
let ec2: EC2Client;
let t: TestApp;
let amiId: string;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url });
  const source = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'moto-source' }, ownerTag()] }],
    }),
  );
  const instance = source.Instances![0]!.InstanceId!;
  const created = (await t.gql(CreateAmiDocument, { input: { instance, name: 'moto launchable', noReboot: true } })).createAmi;
  if (created.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(created));
  amiId = await eventually(async () => {
    const c = (await t.gql(AmiCreationDocument, { id: created.creation.id })).amiCreation;
    return c?.status === 'COMPLETED' ? c.amiId! : undefined;
  }, 20_000);
});

afterAll(async () => {
  await t?.stop();
  ec2?.destroy();
  await moto?.stop();
});

describe('launchInstance on moto', () => {
  it('launches from the AMI with Name and prism:owner on the instance and its volumes, owned by the viewer', async () => {
    const result = (await t.gql(LaunchInstanceDocument, { input: { amiId, instanceType: 't3.small', name: 'moto box' } }))
      .launchInstance;
    if (result.__typename !== 'LaunchInstanceSuccess') throw new Error(JSON.stringify(result));
    expect(result.instance).toMatchObject({ name: 'moto box', state: 'PENDING', owner: 'tester', region: 'us-east-1' });
    const id = result.instance.instanceId;

    const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];
    expect(described).toMatchObject({ ImageId: amiId, InstanceType: 't3.small' });
    expect(tagMap(described?.Tags)).toEqual({ Name: 'moto box', 'prism:owner': 'tester' });
    const volumes = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
    expect(volumes.Volumes?.length).toBeGreaterThan(0);
    for (const v of volumes.Volumes ?? []) expect(tagMap(v.Tags)['prism:owner']).toBe('tester');

    const list = await t.gql(InstancesDocument, { filter: { nameContains: 'moto box' } });
    expect(list.instances.edges.map((e) => [e.node.instanceId, e.node.owner])).toEqual([[id, 'tester']]);
    expect((await t.gql(InstanceDocument, { id })).instance).toMatchObject({ state: 'RUNNING', capturable: true });
  });

  it('refuses another user the private AMI with FORBIDDEN, launching nothing', async () => {
    const count = async () =>
      ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? []).length;
    const before = await count();
    const alice = await t.tokenFor('alice');
    const result = (await t.gql(LaunchInstanceDocument, { input: { amiId, instanceType: 't3.micro' } }, alice)).launchInstance;
    expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(await count()).toBe(before);
  });

  it('puts an unknown key pair on input.keyName (moto checks key pairs as EC2 does when told)', async () => {
    const result = (await t.gql(LaunchInstanceDocument, { input: { amiId, instanceType: 't3.micro', keyName: 'no-such-key' } }))
      .launchInstance;
    expect(result).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'input.keyName' }] });
  });
});
