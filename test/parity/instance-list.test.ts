// The `instances` query against both EC2 backends (the simulator and moto), through the real SDK:
// who sees which instances, the filters and paging EC2 does for us, sizes and costs, lastAmi, and
// the number of EC2 requests a page costs.
import {
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type BlockDeviceMapping,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateAmiDocument, InstancesDocument, type InstancesQueryVariables } from '../../src/generated/graphql/graphql.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { BACKENDS, LAUNCH_IMAGE_ID, type Backend } from './backends.js';

const OWNER_TAG = 'prism:owner';

describe.each(BACKENDS)('instances query on $name', ({ start }) => {
  let b: Backend;
  let t: TestApp | undefined;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });
  beforeEach(async () => {
    await b.reset();
  });
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  /** An app on this backend; not listening, so no background loop sends EC2 requests of its own. */
  async function app(env: Record<string, string> = {}): Promise<TestApp> {
    t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: b.url, ...env }, {}, { listen: false });
    return t;
  }

  /** Launches one instance with a Name tag and (unless null) the owner tag; running once it returns. */
  async function launch(name: string, owner: string | null, devices?: BlockDeviceMapping[]): Promise<string> {
    const tags = [{ Key: 'Name', Value: name }, ...(owner === null ? [] : [{ Key: OWNER_TAG, Value: owner }])];
    const out = await b.ec2().send(
      new RunInstancesCommand({
        ImageId: LAUNCH_IMAGE_ID,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
        ...(devices && { BlockDeviceMappings: devices }),
      }),
    );
    b.elapse(5);
    return out.Instances![0]!.InstanceId!;
  }

  async function list(token: string, variables: InstancesQueryVariables = {}) {
    return (await t!.gql(InstancesDocument, variables, token)).instances;
  }

  const ids = (page: Awaited<ReturnType<typeof list>>) => page.edges.map((e) => e.node.instanceId).sort();

  it('shows a user only the instances tagged with their name, and no terminated ones', async () => {
    const mine = [await launch('alice-a', 'alice'), await launch('alice-b', 'alice')];
    const gone = await launch('alice-gone', 'alice');
    await launch('bob-a', 'bob');
    await launch('nobody', null);
    await b.ec2().send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    b.elapse(5);
    const a = await app();
    const page = await list(await a.tokenFor('alice'));
    expect(ids(page)).toEqual([...mine].sort());
    for (const { node } of page.edges) {
      expect(node).toMatchObject({
        owner: 'alice',
        state: 'RUNNING',
        capturable: true,
        capturableReason: null,
        region: 'us-east-1',
      });
    }
    expect((await list(await a.tokenFor('carol'))).edges).toEqual([]);
  });

  it('shows an admin every instance that is not terminated, with its owner', async () => {
    const alice = await launch('alice-a', 'alice');
    const bob = await launch('bob-a', 'bob');
    const nobody = await launch('nobody', null);
    const gone = await launch('gone', 'bob');
    await b.ec2().send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    b.elapse(5);
    const a = await app();
    const admin = (await a.app.services.auth.createToken('root', { admin: true })).token;
    const page = await list(admin, { first: 100 });
    const byId = new Map(page.edges.map((e) => [e.node.instanceId, e.node]));
    expect([...byId.keys()]).toEqual(expect.arrayContaining([alice, bob, nobody]));
    expect(byId.has(gone)).toBe(false);
    expect(byId.get(bob)).toMatchObject({ owner: 'bob', capturable: true });
    expect(byId.get(nobody)).toMatchObject({ owner: null, capturable: true });
  });

  it('shows every user every instance under INSTANCE_ACCESS=any', async () => {
    const bob = await launch('bob-a', 'bob');
    const nobody = await launch('nobody', null);
    const a = await app({ INSTANCE_ACCESS: 'any' });
    const page = await list(await a.tokenFor('alice'), { first: 100 });
    expect(page.edges.map((e) => e.node.instanceId)).toEqual(expect.arrayContaining([bob, nobody]));
    expect(page.edges.every((e) => e.node.capturable)).toBe(true);
  });

  it('filters by state and by a substring of the Name tag (wildcards in it are plain text)', async () => {
    const running = await launch('genomics-run', 'alice');
    const stopped = await launch('genomics-stopped', 'alice');
    const other = await launch('teaching', 'alice');
    await launch('star*', 'alice');
    await b.ec2().send(new StopInstancesCommand({ InstanceIds: [stopped] }));
    b.elapse(5);
    const a = await app();
    const alice = await a.tokenFor('alice');
    expect(ids(await list(alice, { filter: { state: 'STOPPED' } }))).toEqual([stopped]);
    const stoppedNode = (await list(alice, { filter: { state: 'STOPPED' } })).edges[0]!.node;
    expect(stoppedNode).toMatchObject({ state: 'STOPPED', capturable: true });
    expect(ids(await list(alice, { filter: { nameContains: 'nomic' } }))).toEqual([running, stopped].sort());
    expect(ids(await list(alice, { filter: { nameContains: 'nomic', state: 'RUNNING' } }))).toEqual([running]);
    expect(ids(await list(alice, { filter: { nameContains: 'each' } }))).toEqual([other]);
    expect((await list(alice, { filter: { nameContains: '*' } })).edges.map((e) => e.node.name)).toEqual(['star*']);
  });

  it('walks every instance once with first/after, whatever the page size', async () => {
    const launched: string[] = [];
    for (let i = 0; i < 7; i++) launched.push(await launch(`box-${i}`, 'alice'));
    await launch('bob-box', 'bob');
    const a = await app();
    const alice = await a.tokenFor('alice');
    for (const first of [1, 2, 3, 5, 7, 100]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const page: Awaited<ReturnType<typeof list>> = await list(alice, { first, after });
        expect(page.edges.length).toBeLessThanOrEqual(first);
        seen.push(...page.edges.map((e) => e.node.instanceId));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen.length, `first: ${first}`).toBe(launched.length);
      expect([...seen].sort(), `first: ${first}`).toEqual([...launched].sort());
    }
  });

  it('answers a cursor it did not make with a validation error', async () => {
    const a = await app();
    const res = await a.gqlRaw(InstancesDocument, { after: 'not-a-cursor' }, await a.tokenFor('alice'));
    expect(res.errors?.[0]?.message).toMatch(/after/);
  });

  it('reports the size of all volumes, storage per month = size × the region price, and the launch time', async () => {
    const before = Date.now() - 60_000;
    const id = await launch('big', 'alice', [
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20 } },
      { DeviceName: '/dev/sdb', Ebs: { VolumeSize: 100 } },
    ]);
    const a = await app();
    const [edge] = (await list(await a.tokenFor('alice'))).edges;
    expect(edge?.node).toMatchObject({ instanceId: id, name: 'big', sizeGiB: 120, storageMonthlyUsd: 6 });
    expect(Date.parse(edge!.node.launchedAt!)).toBeGreaterThan(before);
  });

  it('sends exactly one DescribeInstances and one DescribeVolumes per page', async () => {
    for (let i = 0; i < 6; i++) await launch(`box-${i}`, 'alice');
    const a = await app();
    const alice = await a.tokenFor('alice');
    const stats = () => simulatorCalls(b);
    const calls0 = a.app.deps.ec2.callCount();
    const stats0 = await stats();
    const first = await list(alice, { first: 4 });
    const calls1 = a.app.deps.ec2.callCount();
    const second = await list(alice, { first: 4, after: first.pageInfo.endCursor });
    expect(first.edges).toHaveLength(4);
    expect(second.edges).toHaveLength(2);
    expect(calls1 - calls0).toBe(2);
    expect(a.app.deps.ec2.callCount() - calls1).toBe(2);
    const stats1 = await stats();
    if (stats0 && stats1) {
      expect(stats1.DescribeInstances - stats0.DescribeInstances).toBe(2);
      expect(stats1.DescribeVolumes - stats0.DescribeVolumes).toBe(2);
    }
  });

  it('shows the newest AMI a creation made from the instance as lastAmi', async () => {
    const id = await launch('with-ami', 'alice');
    const other = await launch('without-ami', 'alice');
    const a = await app();
    const alice = await a.tokenFor('alice');
    for (const name of ['first image', 'second image']) {
      const res = await a.gql(CreateAmiDocument, { input: { instance: id, name, noReboot: true } }, alice);
      if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(res.createAmi));
    }
    const byId = new Map((await list(alice)).edges.map((e) => [e.node.instanceId, e.node]));
    expect(byId.get(id)?.lastAmi).toMatchObject({ name: 'second image', amiId: expect.stringMatching(/^ami-/) as unknown });
    expect(byId.get(other)?.lastAmi).toBeNull();
    // Another user's view of the same instance (an admin's) does not show alice's AMIs.
    const admin = (await a.app.services.auth.createToken('root', { admin: true })).token;
    const asAdmin = (await list(admin, { first: 100 })).edges.find((e) => e.node.instanceId === id);
    expect(asAdmin?.node.lastAmi).toBeNull();
  });
});

describe('instances query on the simulator: states in between', () => {
  let b: Backend;
  let t: TestApp | undefined;
  beforeAll(async () => {
    b = await BACKENDS[0]!.start();
  });
  afterAll(async () => {
    await t?.stop();
    await b?.stop();
  });

  it('lists a pending and a stopping instance as not capturable, saying why, and capturable once settled', async () => {
    const run = (name: string) =>
      b.ec2().send(
        new RunInstancesCommand({
          ImageId: LAUNCH_IMAGE_ID,
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: 'Name', Value: name },
                { Key: OWNER_TAG, Value: 'alice' },
              ],
            },
          ],
        }),
      );
    const pending = (await run('booting')).Instances![0]!.InstanceId!;
    b.elapse(0);
    t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: b.url }, {}, { listen: false });
    const alice = await t.tokenFor('alice');
    const nodes = async () =>
      new Map((await t!.gql(InstancesDocument, {}, alice)).instances.edges.map((e) => [e.node.instanceId, e.node]));
    expect((await nodes()).get(pending)).toMatchObject({
      state: 'PENDING',
      capturable: false,
      capturableReason: expect.stringMatching(
        /is pending; an AMI can be made only from a running or stopped instance/,
      ) as unknown,
    });
    b.elapse(5);
    expect((await nodes()).get(pending)).toMatchObject({ state: 'RUNNING', capturable: true, capturableReason: null });
    await b.ec2().send(new StopInstancesCommand({ InstanceIds: [pending] }));
    expect((await nodes()).get(pending)).toMatchObject({
      state: 'STOPPING',
      capturable: false,
      capturableReason: expect.stringMatching(/is stopping/) as unknown,
    });
  });
});

/** DescribeInstances and DescribeVolumes so far, from the simulator's stats endpoint (moto has none). */
async function simulatorCalls(b: Backend): Promise<{ DescribeInstances: number; DescribeVolumes: number } | undefined> {
  if (b.name !== 'simulator') return undefined;
  const res = await fetch(`${b.url}/_simulator/stats`);
  const body = (await res.json()) as { calls: Record<string, number> };
  return { DescribeInstances: body.calls.DescribeInstances ?? 0, DescribeVolumes: body.calls.DescribeVolumes ?? 0 };
}
