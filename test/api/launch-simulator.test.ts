// launchInstance against the in-process simulator over HTTP: a launch from one's own AMI is tagged
// with the viewer, listed in `instances`, PENDING then RUNNING, and can be captured again; another
// user may launch the AMI only once it is published; a refusal sends EC2 no RunInstances.
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  CreateAmiDocument,
  InstanceDocument,
  InstancesDocument,
  LaunchInstanceDocument,
  PublishAmiDocument,
  type LaunchInstanceInput,
  type LaunchInstanceMutation,
} from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, tagMap, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

type LaunchResult = LaunchInstanceMutation['launchInstance'];

let t: TestApp;
let ec2: EC2Client;
let alice: string;
let amiId: string;

async function launch(input: LaunchInstanceInput, token = t.token): Promise<LaunchResult> {
  return (await t.gql(LaunchInstanceDocument, { input }, token)).launchInstance;
}

function launched(result: LaunchResult) {
  if (result.__typename !== 'LaunchInstanceSuccess') throw new Error(`expected a launch, got ${JSON.stringify(result)}`);
  return result.instance;
}

/** An AMI captured from `instance` and followed to COMPLETED. */
async function capture(instance: string, name: string, token = t.token): Promise<string> {
  const created = (await t.gql(CreateAmiDocument, { input: { instance, name, noReboot: true } }, token)).createAmi;
  if (created.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi: ${JSON.stringify(created)}`);
  return eventually(async () => {
    const c = (await t.gql(AmiCreationDocument, { id: created.creation.id }, token)).amiCreation;
    return c?.status === 'COMPLETED' ? c.amiId! : undefined;
  }, 20_000);
}

async function runInstancesSeen(): Promise<number> {
  const stats = (await (await fetch(`${t.app.simulator!.url}/_simulator/stats`)).json()) as { calls: Record<string, number> };
  return stats.calls.RunInstances ?? 0;
}

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000', MUTATIONS_PER_MINUTE: '600' });
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  alice = await t.tokenFor('alice');
  amiId = await capture('demo-workstation', 'launchable env');
});
afterAll(async () => {
  ec2?.destroy();
  await t?.stop();
});

describe('launchInstance from the viewer’s own AMI', () => {
  it('answers a PENDING instance owned by the viewer, tagged with Name and prism:owner on the instance and its volumes', async () => {
    const instance = launched(await launch({ amiId, instanceType: 't3.small', name: 'relaunched box' }));
    expect(instance).toMatchObject({
      name: 'relaunched box',
      state: 'PENDING',
      owner: 'tester',
      region: 'us-east-1',
      sizeGiB: 30,
      capturable: false,
    });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance.instanceId] }));
    const ec2Instance = described.Reservations?.[0]?.Instances?.[0];
    expect(ec2Instance).toMatchObject({ ImageId: amiId, InstanceType: 't3.small' });
    expect(tagMap(ec2Instance?.Tags)).toEqual({ Name: 'relaunched box', 'prism:owner': 'tester' });
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instance.instanceId] }] }),
    );
    expect(volumes.Volumes?.map((v) => tagMap(v.Tags)['prism:owner'])).toEqual(['tester']);
  });

  it('is listed in instances, turns RUNNING in instance(id), and can be captured again', async () => {
    const { instanceId } = launched(await launch({ amiId, instanceType: 't3.micro', name: 'round trip' }));
    const list = await t.gql(InstancesDocument, { filter: { nameContains: 'round trip' } });
    expect(list.instances.edges.map((e) => [e.node.instanceId, e.node.owner])).toEqual([[instanceId, 'tester']]);
    const running = await eventually(async () => {
      const i = (await t.gql(InstanceDocument, { id: instanceId })).instance;
      return i?.state === 'RUNNING' ? i : undefined;
    });
    expect(running).toMatchObject({ capturable: true, capturableReason: null });
    const again = await capture(instanceId, 'captured from a launch');
    expect(again).toMatch(/^ami-/);
  });

  it('hides the instance from another user in instance(id) and instances', async () => {
    const { instanceId } = launched(await launch({ amiId, instanceType: 't3.micro', name: 'private box' }));
    expect((await t.gql(InstanceDocument, { id: instanceId }, alice)).instance).toBeNull();
    const list = await t.gql(InstancesDocument, { filter: { nameContains: 'private box' } }, alice);
    expect(list.instances.edges).toEqual([]);
  });

  it("puts the simulator's refusal of an unknown key pair and an unknown subnet on their fields", async () => {
    const key = await launch({ amiId, instanceType: 't3.micro', keyName: 'no-such-key' });
    expect(key).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'input.keyName' }] });
    const subnet = await launch({ amiId, instanceType: 't3.micro', subnetId: 'subnet-0123456789abcdef0' });
    expect(subnet).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'input.subnetId' }] });
    const type = await launch({ amiId, instanceType: 'zz9.huge' });
    expect(type).toMatchObject({ __typename: 'Ec2Error', ec2Code: 'InvalidParameterValue' });
  });
});

describe('launchInstance from another user’s AMI', () => {
  it('refuses a private AMI with FORBIDDEN and sends no RunInstances; launches it for them once published', async () => {
    const before = await runInstancesSeen();
    const refused = await launch({ amiId, instanceType: 't3.micro' }, alice);
    expect(refused).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    if (refused.__typename === 'ForbiddenError') expect(refused.message).toMatch(/belongs to "tester".*publish/);
    expect(await runInstancesSeen()).toBe(before);

    const published = await t.gql(PublishAmiDocument, { input: { amiId, public: true } });
    expect(published.publishAmi.__typename).toBe('PublishAmiSuccess');
    const instance = launched(await launch({ amiId, instanceType: 't3.micro', name: 'alices copy' }, alice));
    expect(instance.owner).toBe('alice');
    expect((await t.gql(InstanceDocument, { id: instance.instanceId }, alice)).instance?.owner).toBe('alice');
  });

  it('answers NotFoundError for an AMI prism-ami does not know', async () => {
    const result = await launch({ amiId: 'ami-0123456789abcdef0', instanceType: 't3.micro' });
    expect(result).toMatchObject({ __typename: 'NotFoundError', code: 'AMI_NOT_FOUND' });
  });
});
