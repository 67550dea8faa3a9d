// Who may capture what, against the in-process simulator over HTTP and over graphql-ws: users capture
// the instances their owner tag names, admins any; a refusal names the tag to set and sends EC2
// nothing that changes anything; INSTANCE_ACCESS=any and a custom INSTANCE_OWNER_TAG; admins take
// other users' AMIs out of the community list; the per-user cap on active creations.
import {
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  CommunityAmisDocument,
  CreateAmiDocument,
  DeregisterAmiDocument,
  PublishAmiDocument,
  type CreateAmiInput,
  type CreateAmiMutation,
} from '../../src/generated/graphql/graphql.js';
import { BASE_IMAGES, SEEDED_INSTANCES } from '../../simulator/index.js';
import { eventually, ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { overWebSocket } from '../support/ws-operation.js';

const DEMO = SEEDED_INSTANCES['demo-workstation'];
const GENOMICS = SEEDED_INSTANCES['genomics-pipeline'];
const TEACHING = SEEDED_INSTANCES['teaching-env'];

type CreateResult = CreateAmiMutation['createAmi'];

function simulatorClient(t: TestApp): EC2Client {
  return new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}

async function simulatorStats(t: TestApp): Promise<{ total: number; calls: Record<string, number> }> {
  return (await (await fetch(`${t.app.simulator!.url}/_simulator/stats`)).json()) as {
    total: number;
    calls: Record<string, number>;
  };
}

/**
 * What `run` returns, and the EC2 actions the simulator saw meanwhile (apart from the region list the
 * validation reads). The tracker and the reconciler pause meanwhile, so that every call counted is
 * the request's.
 */
async function withActions<T>(t: TestApp, run: () => Promise<T>): Promise<{ result: T; actions: string[] }> {
  // Both run once the app has started (app.start), neither before.
  const background = t.app.tracker.isRunning() ? [t.app.tracker, t.app.reconciler] : [];
  for (const loop of background) await loop.stop();
  try {
    await fetch(`${t.app.simulator!.url}/_simulator/stats/reset`, { method: 'POST' });
    const result = await run();
    const actions = Object.keys((await simulatorStats(t)).calls)
      .filter((a) => a !== 'DescribeRegions')
      .sort();
    return { result, actions };
  } finally {
    for (const loop of background) loop.start();
  }
}

async function imagesNamed(t: TestApp, name: string) {
  const ec2 = simulatorClient(t);
  try {
    const res = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }));
    return res.Images ?? [];
  } finally {
    ec2.destroy();
  }
}

async function createAmi(t: TestApp, input: CreateAmiInput, token = t.token): Promise<CreateResult> {
  return (await t.gql(CreateAmiDocument, { input }, token)).createAmi;
}

async function completed(t: TestApp, id: string, token = t.token): Promise<string> {
  return eventually(async () => {
    const c = (await t.gql(AmiCreationDocument, { id }, token)).amiCreation;
    return c?.status === 'COMPLETED' ? c.amiId! : undefined;
  }, 20_000);
}

function expectForbidden(result: CreateResult, message: RegExp): void {
  expect(result.__typename).toBe('ForbiddenError');
  if (result.__typename !== 'ForbiddenError') return;
  expect(result.code).toBe('FORBIDDEN');
  expect(result.message).toMatch(message);
}

describe('capturing instances under INSTANCE_ACCESS=owner (the default)', () => {
  let t: TestApp;
  let alice: string;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000', MUTATIONS_PER_MINUTE: '600' });
    alice = await t.tokenFor('alice');
    admin = await t.tokenFor('root', { admin: true });
    await t.setOwner([GENOMICS], 'alice');
  });
  afterAll(() => t?.stop());

  it('captures an instance whose prism:owner tag names the user', async () => {
    const result = await createAmi(t, { instance: 'demo-workstation', name: 'own box', noReboot: true });
    expect(result.__typename).toBe('CreateAmiSuccess');
    if (result.__typename === 'CreateAmiSuccess') expect(result.creation.instanceId).toBe(DEMO);
  });

  it("refuses another user's instance with FORBIDDEN naming prism:owner=<user>, and EC2 is asked only to describe it", async () => {
    const { result, actions } = await withActions(t, () => createAmi(t, { instance: 'genomics-pipeline', name: 'not mine' }));
    expectForbidden(result, /belongs to "alice".*set the tag prism:owner=tester on the instance/);
    expect(actions).toEqual(['DescribeInstances']);
    expect(await imagesNamed(t, 'not mine')).toEqual([]);
  });

  it('refuses an instance without an owner tag, naming the tag to set', async () => {
    const ec2 = simulatorClient(t);
    try {
      await ec2.send(new DeleteTagsCommand({ Resources: [TEACHING], Tags: [{ Key: 'prism:owner' }] }));
    } finally {
      ec2.destroy();
    }
    const { result, actions } = await withActions(t, () => createAmi(t, { instance: TEACHING, name: 'nobody owns it' }));
    expectForbidden(result, /has no prism:owner tag.*prism:owner=tester/);
    expect(actions).toEqual(['DescribeInstances']);
    await t.setOwner([TEACHING], 'tester');
  });

  it("lets an admin capture anyone's instance, and an untagged one", async () => {
    const result = await createAmi(t, { instance: 'genomics-pipeline', name: 'admin capture', noReboot: true }, admin);
    expect(result.__typename).toBe('CreateAmiSuccess');
    if (result.__typename === 'CreateAmiSuccess') expect(result.creation.instanceId).toBe(GENOMICS);
  });

  it("over graphql-ws: refuses another user's instance the same way, and captures one's own", async () => {
    const { result: refused, actions } = await withActions(t, () =>
      overWebSocket(t, CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'ws theft' } }, alice),
    );
    expectForbidden(refused.createAmi, /belongs to "tester".*prism:owner=alice/);
    expect(actions).toEqual(['DescribeInstances']);
    expect(await imagesNamed(t, 'ws theft')).toEqual([]);

    const own = await overWebSocket(
      t,
      CreateAmiDocument,
      { input: { instance: GENOMICS, name: 'ws own', noReboot: true } },
      alice,
    );
    expect(own.createAmi.__typename).toBe('CreateAmiSuccess');
  });

  it('answers INSTANCE_STATE_INVALID naming the state for a Name tag that matches only a terminated instance, and for its id', async () => {
    const ec2 = simulatorClient(t);
    try {
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: BASE_IMAGES.x86_64,
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'gone-box' }, ownerTag()] }],
        }),
      );
      const id = run.Instances![0]!.InstanceId!;
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await eventually(async () => {
        const res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
        return res.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'terminated' ? true : undefined;
      });
      for (const instance of ['gone-box', id]) {
        const result = await createAmi(t, { instance, name: `gone ${instance}` });
        expect(result).toMatchObject({ __typename: 'InvalidStateError', code: 'INSTANCE_STATE_INVALID' });
        if (result.__typename === 'InvalidStateError') expect(result.message).toMatch(new RegExp(`${id}.* is terminated`));
      }
    } finally {
      ec2.destroy();
    }
  });
});

describe("admins and other users' community AMIs", () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let admin: string;
  let aliceAmi: string;

  beforeAll(async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000', MUTATIONS_PER_MINUTE: '600' });
    alice = await t.tokenFor('alice');
    bob = await t.tokenFor('bob');
    admin = await t.tokenFor('root', { admin: true });
    await t.setOwner([TEACHING], 'alice');
    const created = await createAmi(t, { instance: 'teaching-env', name: 'alice community env' }, alice);
    if (created.__typename !== 'CreateAmiSuccess') throw new Error(`${created.__typename}: ${created.message}`);
    aliceAmi = await completed(t, created.creation.id, alice);
    const published = (await t.gql(PublishAmiDocument, { input: { amiId: aliceAmi, public: true } }, alice)).publishAmi;
    if (published.__typename !== 'PublishAmiSuccess') throw new Error(`${published.__typename}: ${published.message}`);
  });
  afterAll(() => t?.stop());

  const community = async () => (await t.gql(CommunityAmisDocument, {})).communityAmis.edges.map((e) => e.node.amiId);

  it("refuses a non-admin who unpublishes another user's community AMI with FORBIDDEN", async () => {
    const result = (await t.gql(PublishAmiDocument, { input: { amiId: aliceAmi, public: false } }, bob)).publishAmi;
    expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    if (result.__typename === 'ForbiddenError') expect(result.message).toMatch(/only its owner or an admin may unpublish it/);
    expect(await community()).toContain(aliceAmi);
  });

  it('keeps everything else owner-only for an admin: no deregistering, no publishing again', async () => {
    const deregistered = (await t.gql(DeregisterAmiDocument, { input: { amiId: aliceAmi } }, admin)).deregisterAmi;
    expect(deregistered).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const published = (await t.gql(PublishAmiDocument, { input: { amiId: aliceAmi, public: true } }, admin)).publishAmi;
    expect(published).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
  });

  it("lets an admin unpublish another user's community AMI: private again and out of communityAmis", async () => {
    const result = (await t.gql(PublishAmiDocument, { input: { amiId: aliceAmi, public: false } }, admin)).publishAmi;
    expect(result.__typename).toBe('PublishAmiSuccess');
    if (result.__typename === 'PublishAmiSuccess') expect(result.ami).toMatchObject({ amiId: aliceAmi, visibility: 'PRIVATE' });
    expect(await community()).not.toContain(aliceAmi);
    // A private AMI of another user is not the admin's to publish or unpublish.
    const again = (await t.gql(PublishAmiDocument, { input: { amiId: aliceAmi, public: false } }, admin)).publishAmi;
    expect(again).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
  });
});

describe('INSTANCE_ACCESS=any and a custom INSTANCE_OWNER_TAG', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it("lets every user capture every instance under INSTANCE_ACCESS=any, another user's and an untagged one", async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', INSTANCE_ACCESS: 'any' }, {}, { listen: false, seededOwner: null });
    const bob = await t.tokenFor('bob');
    expect((await createAmi(t, { instance: 'demo-workstation', name: 'any 1', noReboot: true }, bob)).__typename).toBe(
      'CreateAmiSuccess',
    );
    const ec2 = simulatorClient(t);
    try {
      await ec2.send(new DeleteTagsCommand({ Resources: [TEACHING], Tags: [{ Key: 'prism:owner' }] }));
    } finally {
      ec2.destroy();
    }
    expect((await createAmi(t, { instance: TEACHING, name: 'any 2' }, bob)).__typename).toBe('CreateAmiSuccess');
  });

  it('reads the owner from INSTANCE_OWNER_TAG and names that tag in the refusal', async () => {
    const app = await startTestApp(
      { EC2_BACKEND: 'simulator', INSTANCE_OWNER_TAG: 'lab:user' },
      {},
      { listen: false, seededOwner: null },
    );
    t = app;
    // The seeded instances carry prism:owner=local, which this server does not read.
    const { result: refused, actions } = await withActions(app, () =>
      createAmi(app, { instance: 'demo-workstation', name: 'custom 1' }),
    );
    expectForbidden(refused, /has no lab:user tag.*set the tag lab:user=tester/);
    expect(actions).toEqual(['DescribeInstances']);
    await app.setOwner([DEMO], 'tester');
    expect((await createAmi(app, { instance: 'demo-workstation', name: 'custom 2', noReboot: true })).__typename).toBe(
      'CreateAmiSuccess',
    );
  });

  it('seeds the instances as the local user\'s (prism:owner=local): "local" captures them, others may not', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator' }, {}, { listen: false, seededOwner: null });
    const local = await t.tokenFor('local');
    expectForbidden(await createAmi(t, { instance: 'demo-workstation', name: 'seeded 1' }), /belongs to "local"/);
    expect((await createAmi(t, { instance: 'demo-workstation', name: 'seeded 2', noReboot: true }, local)).__typename).toBe(
      'CreateAmiSuccess',
    );
  });
});

describe('MAX_ACTIVE_CREATIONS_PER_USER', () => {
  let t: TestApp;
  let bob: string;

  beforeAll(async () => {
    // Slow snapshots: the creations stay active until the test speeds the simulator up.
    t = await startTestApp({
      EC2_BACKEND: 'simulator',
      SIMULATOR_SPEED_GIB_PER_SECOND: '0.001',
      MAX_ACTIVE_CREATIONS_PER_USER: '2',
      MUTATIONS_PER_MINUTE: '600',
    });
    bob = await t.tokenFor('bob');
    await t.setOwner([GENOMICS], 'bob');
  });
  afterAll(() => t?.stop());

  it('refuses the third active creation with LIMIT_EXCEEDED and no CreateImage; a retry, another user and a slot freed by a completion are accepted', async () => {
    const first = await createAmi(t, { instance: 'demo-workstation', name: 'cap 1', noReboot: true, idempotencyKey: 'cap-1' });
    const second = await createAmi(t, { instance: 'teaching-env', name: 'cap 2' });
    expect([first.__typename, second.__typename]).toEqual(['CreateAmiSuccess', 'CreateAmiSuccess']);
    if (first.__typename !== 'CreateAmiSuccess') return;

    const { result: third, actions } = await withActions(t, () =>
      createAmi(t, { instance: 'demo-workstation', name: 'cap 3', noReboot: true }),
    );
    expect(third).toMatchObject({ __typename: 'ForbiddenError', code: 'LIMIT_EXCEEDED' });
    if (third.__typename === 'ForbiddenError') {
      expect(third.message).toMatch(/2 active AMI creations/);
      expect(third.message).toMatch(/limit is 2 per user \(MAX_ACTIVE_CREATIONS_PER_USER\)/);
    }
    expect(actions).toEqual([]);
    expect(await imagesNamed(t, 'cap 3')).toEqual([]);

    // A retry of an existing creation is that creation, not a new one.
    const retry = await createAmi(t, { instance: 'demo-workstation', name: 'cap 1', noReboot: true, idempotencyKey: 'cap-1' });
    expect(retry).toMatchObject({ __typename: 'CreateAmiSuccess', creation: { id: first.creation.id } });

    const other = await createAmi(t, { instance: 'genomics-pipeline', name: 'bob cap 1', noReboot: true }, bob);
    expect(other.__typename).toBe('CreateAmiSuccess');

    await fetch(`${t.app.simulator!.url}/_simulator/config`, {
      method: 'POST',
      body: JSON.stringify({ speedGiBPerSecond: 1000 }),
    });
    await completed(t, first.creation.id);
    const after = await createAmi(t, { instance: 'demo-workstation', name: 'cap 4', noReboot: true });
    expect(after.__typename).toBe('CreateAmiSuccess');
  });
});
