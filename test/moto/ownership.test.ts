// Who may capture what, against moto (an independent EC2) over HTTP and over graphql-ws: a user
// captures the instances whose owner tag names them, an admin any; a refusal is FORBIDDEN naming
// the tag to set, and after reading the instance the server sends EC2 nothing (no image in moto).
import { DescribeImagesCommand, EC2Client, RunInstancesCommand, type Tag } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateAmiDocument, type CreateAmiInput, type CreateAmiMutation } from '../../src/generated/graphql/graphql.js';
import { ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { overWebSocket } from '../support/ws-operation.js';
import { startMoto, type Moto } from '../support/moto.js';

type CreateResult = CreateAmiMutation['createAmi'];

let moto: Moto;
let ec2: EC2Client;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
});

afterAll(async () => {
  ec2.destroy();
  await moto.stop();
});

async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url, ...env });
}

async function runInstance(name: string, tags: Tag[]): Promise<string> {
  const res = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }, ...tags] }],
    }),
  );
  return res.Instances![0]!.InstanceId!;
}

async function imagesInMoto() {
  return (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

/** EC2 actions the server sent (after the SDK's retries), counted by its metrics. */
async function ec2CallsByAction(t: TestApp): Promise<Record<string, number>> {
  const metric = await t.app.metrics.registry.getSingleMetric('prism_ami_ec2_calls_total')!.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) out[String(v.labels.action)] = (out[String(v.labels.action)] ?? 0) + v.value;
  return out;
}

/**
 * The EC2 actions `run` caused, apart from the region list the validation reads once. The tracker
 * and the reconciler pause meanwhile, so that every call counted is the request's.
 */
async function actionsDuring(t: TestApp, run: () => Promise<unknown>): Promise<string[]> {
  await t.app.tracker.stop();
  await t.app.reconciler.stop();
  try {
    const before = await ec2CallsByAction(t);
    await run();
    const after = await ec2CallsByAction(t);
    return Object.keys(after)
      .filter((a) => a !== 'DescribeRegions' && after[a] !== before[a])
      .sort();
  } finally {
    t.app.tracker.start();
    t.app.reconciler.start();
  }
}

async function createAmi(t: TestApp, input: CreateAmiInput, token = t.token): Promise<CreateResult> {
  return (await t.gql(CreateAmiDocument, { input }, token)).createAmi;
}

async function createAmiOverWebSocket(t: TestApp, input: CreateAmiInput, token: string): Promise<CreateResult> {
  return (await overWebSocket(t, CreateAmiDocument, { input }, token)).createAmi;
}

function expectForbidden(result: CreateResult, message: RegExp): void {
  expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
  if (result.__typename === 'ForbiddenError') expect(result.message).toMatch(message);
}

describe('createAmi against moto under INSTANCE_ACCESS=owner', () => {
  let t: TestApp;

  beforeEach(async () => {
    await moto.reset();
    t = await startApp();
    return () => t.stop();
  });

  it('captures an instance whose prism:owner tag names the user', async () => {
    const id = await runInstance('mine', [ownerTag()]);
    const result = await createAmi(t, { instance: 'mine', name: 'mine v1' });
    expect(result).toMatchObject({ __typename: 'CreateAmiSuccess', creation: { instanceId: id } });
    expect((await imagesInMoto()).map((i) => i.Name)).toEqual(['mine v1']);
  });

  it("refuses another user's instance with FORBIDDEN naming prism:owner=<user>; only DescribeInstances was sent and moto has no image", async () => {
    await runInstance('alices', [ownerTag('alice')]);
    let result: CreateResult | undefined;
    const actions = await actionsDuring(t, async () => {
      result = await createAmi(t, { instance: 'alices', name: 'stolen' });
    });
    expectForbidden(result!, /belongs to "alice".*set the tag prism:owner=tester on the instance/);
    expect(actions).toEqual(['DescribeInstances']);
    expect(await imagesInMoto()).toEqual([]);
  });

  it('refuses an instance without an owner tag with FORBIDDEN, and creates nothing', async () => {
    await runInstance('nobodys', []);
    const result = await createAmi(t, { instance: 'nobodys', name: 'orphan' });
    expectForbidden(result, /has no prism:owner tag.*prism:owner=tester/);
    expect(await imagesInMoto()).toEqual([]);
  });

  it("lets an admin capture another user's instance and an untagged one", async () => {
    const admin = await t.tokenFor('root', { admin: true });
    await runInstance('alices', [ownerTag('alice')]);
    await runInstance('nobodys', []);
    expect((await createAmi(t, { instance: 'alices', name: 'by admin 1' }, admin)).__typename).toBe('CreateAmiSuccess');
    expect((await createAmi(t, { instance: 'nobodys', name: 'by admin 2' }, admin)).__typename).toBe('CreateAmiSuccess');
    expect((await imagesInMoto()).map((i) => i.Name).sort()).toEqual(['by admin 1', 'by admin 2']);
  });

  it("over graphql-ws: refuses another user's instance with FORBIDDEN and no image, and captures the user's own", async () => {
    await runInstance('testers', [ownerTag()]);
    const bob = await t.tokenFor('bob');
    expectForbidden(await createAmiOverWebSocket(t, { instance: 'testers', name: 'ws stolen' }, bob), /prism:owner=bob/);
    expect(await imagesInMoto()).toEqual([]);
    await runInstance('bobs', [ownerTag('bob')]);
    expect((await createAmiOverWebSocket(t, { instance: 'bobs', name: 'ws own' }, bob)).__typename).toBe('CreateAmiSuccess');
    expect((await imagesInMoto()).map((i) => i.Name)).toEqual(['ws own']);
  });
});

describe('createAmi against moto with INSTANCE_ACCESS=any or a custom INSTANCE_OWNER_TAG', () => {
  beforeEach(() => moto.reset());

  it("lets every user capture every instance under INSTANCE_ACCESS=any, another user's and an untagged one", async () => {
    const t = await startApp({ INSTANCE_ACCESS: 'any' });
    try {
      await runInstance('alices', [ownerTag('alice')]);
      await runInstance('nobodys', []);
      expect((await createAmi(t, { instance: 'alices', name: 'any 1' })).__typename).toBe('CreateAmiSuccess');
      expect((await createAmi(t, { instance: 'nobodys', name: 'any 2' })).__typename).toBe('CreateAmiSuccess');
    } finally {
      await t.stop();
    }
  });

  it('reads the owner from INSTANCE_OWNER_TAG: prism:owner no longer counts, and the refusal names the custom tag', async () => {
    const t = await startApp({ INSTANCE_OWNER_TAG: 'lab:user' });
    try {
      await runInstance('old-style', [ownerTag()]);
      await runInstance('new-style', [{ Key: 'lab:user', Value: 'tester' }]);
      expectForbidden(await createAmi(t, { instance: 'old-style', name: 'custom 1' }), /has no lab:user tag.*lab:user=tester/);
      expect((await createAmi(t, { instance: 'new-style', name: 'custom 2' })).__typename).toBe('CreateAmiSuccess');
      expect((await imagesInMoto()).map((i) => i.Name)).toEqual(['custom 2']);
    } finally {
      await t.stop();
    }
  });
});
