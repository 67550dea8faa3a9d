// launchInstance in the launch service against the in-memory EC2 fake: the request checked field by
// field, whose AMIs may be launched (a refusal sends no RunInstances), what RunInstances is asked
// for (the AMI's region, the Name and owner tags on instance and volumes), and EC2's refusals mapped.
import { afterEach, describe, expect, it } from 'vitest';
import type { LaunchRequest } from '../../src/services/launches.js';
import type { Viewer } from '../../src/services/viewer.js';
import { createUnitHarness, ownedBy, OWNER_TAG, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const alice: Viewer = { user: 'alice' };

async function refusal(run: () => Promise<unknown>): Promise<{ code: string; message: string; fieldErrors?: unknown }> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string; fieldErrors?: unknown },
  );
  if (!err) throw new Error('expected a refusal');
  return err;
}

/** An AMI of `viewer`'s, made through a creation and followed to COMPLETED (AVAILABLE). */
async function availableAmi(viewer: Viewer, name: string): Promise<string> {
  const instance = h.fake.addInstance({ tags: ownedBy(viewer.user), volumesGiB: [30] });
  const creation = await h.services.creations.create(viewer, { instance, name, noReboot: true });
  h.fake.complete(creation.amiId!);
  for (let i = 0; i < 5 && (await h.ami(creation.amiId!))?.state !== 'AVAILABLE'; i++) {
    h.clock.advance(1000);
    await h.tick();
  }
  expect((await h.ami(creation.amiId!))?.state).toBe('AVAILABLE');
  return creation.amiId!;
}

const launch = (input: Partial<LaunchRequest> & { amiId: string }, viewer = h.viewer) =>
  h.services.launches.launch(viewer, { instanceType: 't3.micro', ...input });

const runInstancesCalls = () => h.fake.callsOf('RunInstances');

describe('launchInstance input', () => {
  it.each([['t3.micro'], ['m7i-flex.large'], ['c6gn.16xlarge'], ['u-6tb1.metal'], ['mac2-m2pro.metal']])(
    'accepts the instance type %s',
    async (instanceType) => {
      h = await createUnitHarness();
      const amiId = await availableAmi(h.viewer, `type ${instanceType}`);
      await expect(launch({ amiId, instanceType })).resolves.toMatchObject({ state: 'PENDING' });
    },
  );

  it.each([
    ['instanceType', { instanceType: 't3' }, /not an EC2 instance type/],
    ['instanceType', { instanceType: 'T3.Micro' }, /not an EC2 instance type/],
    ['instanceType', { instanceType: 't3.micro; rm' }, /not an EC2 instance type/],
    ['amiId', { amiId: 'ami-xyz' }, /not an AMI id/],
    ['name', { name: 'n'.repeat(256) }, /1 to 255 characters/],
    ['name', { name: '   ' }, /1 to 255 characters/],
    ['subnetId', { subnetId: 'subnet-12' }, /not a subnet id/],
    ['keyName', { keyName: '' }, /1 to 255 characters/],
    ['keyName', { keyName: 'k'.repeat(256) }, /1 to 255 characters/],
  ])('refuses a bad %s (%j) on its path and sends nothing to EC2', async (field, patch, message) => {
    h = await createUnitHarness();
    const mark = h.fake.callCount();
    const err = await refusal(() => launch({ amiId: 'ami-0123456789abcdef0', ...patch }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.fieldErrors).toEqual([{ path: `input.${field}`, message: expect.stringMatching(message) as string }]);
    expect(h.fake.callsSince(mark)).toEqual([]);
  });

  it('names every bad field at once', async () => {
    h = await createUnitHarness();
    const err = await refusal(() =>
      launch({ amiId: 'nope', instanceType: 'big', name: '', subnetId: 'sub', keyName: 'x'.repeat(300) }),
    );
    const paths = (err.fieldErrors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(['input.amiId', 'input.instanceType', 'input.name', 'input.subnetId', 'input.keyName']);
    expect(runInstancesCalls()).toEqual([]);
  });
});

describe('which AMIs the viewer may launch', () => {
  it('answers AMI_NOT_FOUND for an AMI prism-ami does not know, without RunInstances', async () => {
    h = await createUnitHarness();
    const err = await refusal(() => launch({ amiId: 'ami-0123456789abcdef0' }));
    expect(err.code).toBe('AMI_NOT_FOUND');
    expect(h.fake.calls).toEqual([]);
  });

  it("refuses someone else's private AMI with FORBIDDEN naming the owner and the way out, without RunInstances", async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(alice, 'alices env');
    const err = await refusal(() => launch({ amiId }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toMatch(/belongs to "alice" and is not published.*publishAmi/);
    expect(runInstancesCalls()).toEqual([]);
  });

  it('launches a community AMI of another user, owned by the viewer', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(alice, 'alices public env');
    await h.services.amis.publish(alice, { amiId, public: true });
    const instance = await launch({ amiId });
    expect(instance).toMatchObject({ owner: 'tester', state: 'PENDING' });
    expect(h.fake.launchOf(instance.instanceId)?.tags).toContainEqual({ key: OWNER_TAG, value: 'tester' });
  });

  it('refuses an AMI that is still being made, on input.amiId, without RunInstances', async () => {
    h = await createUnitHarness();
    const instance = h.fake.addInstance({ tags: ownedBy('tester') });
    const creation = await h.services.creations.create(h.viewer, { instance, name: 'not yet', noReboot: true });
    const err = await refusal(() => launch({ amiId: creation.amiId! }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.fieldErrors).toEqual([{ path: 'input.amiId', message: expect.stringMatching(/still being made/) as string }]);
    expect(runInstancesCalls()).toEqual([]);
  });

  it('refuses a deregistered AMI of the viewer, without RunInstances', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, 'gone soon');
    await h.services.amis.deregister(h.viewer, { amiId });
    const err = await refusal(() => launch({ amiId }));
    expect(err.fieldErrors).toEqual([{ path: 'input.amiId', message: expect.stringMatching(/is deregistered/) as string }]);
    expect(runInstancesCalls()).toEqual([]);
  });
});

describe('what RunInstances is asked for', () => {
  it("sends one RunInstances in the AMI's region with Name and the owner tag, and answers the pending instance", async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, 'my env');
    const instance = await launch({ amiId, instanceType: 'm7i-flex.large', name: 'analysis box' });
    const [call] = runInstancesCalls();
    expect(call?.region).toBe('us-east-1');
    expect(call?.args).toMatchObject({ imageId: amiId, instanceType: 'm7i-flex.large', name: 'analysis box' });
    expect(h.fake.launchOf(instance.instanceId)?.tags).toEqual([
      { key: 'Name', value: 'analysis box' },
      { key: OWNER_TAG, value: 'tester' },
    ]);
    expect(instance).toMatchObject({
      name: 'analysis box',
      state: 'PENDING',
      owner: 'tester',
      region: 'us-east-1',
      sizeGiB: 30,
      capturable: false,
      capturableReason: expect.stringMatching(/is pending/) as string,
    });
  });

  it('tags with the configured owner tag, and passes the subnet and key pair on', async () => {
    h = await createUnitHarness({ access: { ownerTag: 'lab:user' } });
    const instanceId = h.fake.addInstance({ tags: [{ key: 'lab:user', value: 'tester' }] });
    const creation = await h.services.creations.create(h.viewer, { instance: instanceId, name: 'custom tag', noReboot: true });
    h.fake.complete(creation.amiId!);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      await h.tick();
    }
    h.fake.addSubnet('us-east-1', 'subnet-0123abcd');
    h.fake.addKeyPair('us-east-1', 'my-key');
    const instance = await launch({ amiId: creation.amiId!, subnetId: 'subnet-0123abcd', keyName: 'my-key' });
    expect(h.fake.launchOf(instance.instanceId)).toMatchObject({
      subnetId: 'subnet-0123abcd',
      keyName: 'my-key',
      tags: [{ key: 'lab:user', value: 'tester' }],
    });
  });

  it('shows the launched instance in instances and in instance(id), running once EC2 says so', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, 'listed');
    const { instanceId } = await launch({ amiId, name: 'listed box' });
    const list = await h.services.instances.list(h.viewer, { filter: { nameContains: 'listed box' } });
    expect(list.edges.map((e) => e.node.instanceId)).toEqual([instanceId]);
    expect(await h.services.instances.get(h.viewer, { id: instanceId })).toMatchObject({ state: 'PENDING' });
    h.fake.setInstanceState(instanceId, 'running');
    expect(await h.services.instances.get(h.viewer, { id: instanceId })).toMatchObject({ state: 'RUNNING', capturable: true });
    expect(await h.services.instances.get(alice, { id: instanceId })).toBeNull();
    expect(await h.services.instances.get(h.viewer, { id: 'i-0123456789abcdef0' })).toBeNull();
  });
});

describe("EC2's refusals of a launch", () => {
  it('puts an unknown subnet on input.subnetId and an unknown key pair on input.keyName', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, 'refusals');
    const subnet = await refusal(() => launch({ amiId, subnetId: 'subnet-0123abcd' }));
    expect(subnet.fieldErrors).toEqual([{ path: 'input.subnetId', message: expect.stringMatching(/no such subnet/) as string }]);
    const key = await refusal(() => launch({ amiId, keyName: 'missing' }));
    expect(key.fieldErrors).toEqual([{ path: 'input.keyName', message: expect.stringMatching(/no key pair/) as string }]);
  });

  it.each([
    ['InstanceLimitExceeded', /limit.*Service Quotas/],
    ['VcpuLimitExceeded', /limit.*Service Quotas/],
    ['InsufficientInstanceCapacity', /no capacity.*another instance type/],
    ['Unsupported', /another instance type/],
  ])('answers %s as an Ec2Error with the code and a way out', async (code, message) => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, `ec2 ${code}`);
    h.fake.failNext('RunInstances', { error: { code, message: `injected ${code}` } });
    const err = (await refusal(() => launch({ amiId }))) as { code: string; message: string; ec2Code?: string };
    expect(err).toMatchObject({ code: 'EC2_ERROR', ec2Code: code });
    expect(err.message).toMatch(message);
  });

  it("answers EC2's InvalidParameterValue for the instance type as an Ec2Error naming the fix", async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi(h.viewer, 'bad type');
    h.fake.failNext('RunInstances', {
      error: { code: 'InvalidParameterValue', message: "Invalid value 'zz9.huge' for InstanceType." },
    });
    const err = (await refusal(() => launch({ amiId, instanceType: 'zz9.huge' }))) as {
      code: string;
      message: string;
      ec2Code?: string;
    };
    expect(err).toMatchObject({ code: 'EC2_ERROR', ec2Code: 'InvalidParameterValue' });
    expect(err.message).toMatch(/choose an instance type that exists there/);
  });
});
