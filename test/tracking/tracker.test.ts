// The progress tracker, cancel and reconciliation in-process: a real app on an in-memory database,
// the embedded simulator behind the real SDK, and ticks driven by hand (the loop is not started).
import {
  CreateImageCommand,
  CopyImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { findAmi, amisOfCreation } from '../../src/db/amis.js';
import { findCreation, insertCreation, updateCreation, type CreationRecord } from '../../src/db/creations.js';
import {
  AmiCreationDocument,
  CancelAmiCreationDocument,
  CreateAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import type { AppOverrides } from '../../src/app.js';
import { Ec2CallError } from '../../src/services/ec2/errors.js';
import { copyClientToken } from '../../src/services/tracker/index.js';
import { startTestApp, tagMap, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

let t: TestApp;
const clients: EC2Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await t?.stop();
});

async function start(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '20', ...env }, overrides, {
    listen: false,
  });
  return t;
}

function ec2(region = 'us-east-1'): EC2Client {
  const c = new EC2Client({ region, endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  clients.push(c);
  return c;
}

async function simConfig(patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${t.app.simulator!.url}/_simulator/config`, { method: 'POST', body: JSON.stringify(patch) });
  expect(res.ok).toBe(true);
}

async function simStats(): Promise<{ byRegion: Record<string, Record<string, number>> }> {
  return (await (await fetch(`${t.app.simulator!.url}/_simulator/stats`)).json()) as {
    byRegion: Record<string, Record<string, number>>;
  };
}

async function createAmi(input: CreateAmiInput): Promise<CreationRecord> {
  const res = await t.gql(CreateAmiDocument, { input: { noReboot: true, ...input } });
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(res.createAmi)}`);
  return creation(res.createAmi.creation.id);
}

async function creation(id: string): Promise<CreationRecord> {
  return (await findCreation(t.app.deps.db, id))!;
}

/** Tick until `done` holds for the creation (or fail after `max` ticks). */
async function tickUntil(id: string, done: (c: CreationRecord) => boolean, max = 80): Promise<CreationRecord> {
  for (let i = 0; i < max; i++) {
    const c = await creation(id);
    if (done(c)) return c;
    await t.app.tracker.runOnce();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`creation ${id} never got there: ${JSON.stringify(await creation(id))}`);
}

const ended = (c: CreationRecord) => c.status !== 'PENDING' && c.status !== 'IN_PROGRESS';

async function imagesOf(id: string, region = 'us-east-1'): Promise<Image[]> {
  const res = await ec2(region).send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:prism:creation-id', Values: [id] }] }),
  );
  return res.Images ?? [];
}

async function snapshotIds(region = 'us-east-1'): Promise<string[]> {
  const res = await ec2(region).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  return (res.Snapshots ?? []).map((s) => s.SnapshotId!).sort();
}

async function instanceId(name: string): Promise<string> {
  return (await t.app.deps.ec2.describeInstances('us-east-1', { nameTag: name }))[0]!.id;
}

/** A creation as createAmi records it before CreateImage: what a crash leaves behind. */
async function orphan(name: string, requestedAgoMs: number): Promise<CreationRecord> {
  const id = crypto.randomUUID();
  const now = Date.now();
  await insertCreation(
    t.app.deps.db,
    {
      id,
      owner: 'tester',
      idempotencyKey: null,
      name,
      description: null,
      templateName: null,
      instanceId: await instanceId('teaching-env'),
      sourceRegion: 'us-east-1',
      architecture: 'x86_64',
      status: 'PENDING',
      stage: 'VALIDATING',
      progress: 0,
      message: 'Requesting an image',
      noReboot: true,
      public: false,
      shareAccounts: [],
      sizeGiB: 16,
      snapshotIds: [],
      imageRequestedAt: now - requestedAgoMs,
      createdAt: now - requestedAgoMs,
      updatedAt: now - requestedAgoMs,
    },
    [],
    [],
  );
  return await creation(id);
}

describe('resuming creations whose AMI id was never stored', () => {
  it('adopts the image found by its creation-id tag instead of calling CreateImage again', async () => {
    await start();
    const c = await orphan('adopt by tag', 60_000);
    const made = await ec2().send(
      new CreateImageCommand({
        InstanceId: c.instanceId,
        Name: c.name,
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'prism:creation-id', Value: c.id }] }],
      }),
    );
    await t.app.tracker.runOnce();
    expect(await creation(c.id)).toMatchObject({ amiId: made.ImageId, status: 'IN_PROGRESS', stage: 'SNAPSHOTTING' });
    const done = await tickUntil(c.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect((await imagesOf(c.id)).map((i) => i.ImageId)).toEqual([made.ImageId]);
    expect((await findAmi(t.app.deps.db, made.ImageId!))?.state).toBe('AVAILABLE');
  });

  it('adopts an untagged image with the creation name registered after the request', async () => {
    await start();
    const c = await orphan('adopt by name', 60_000);
    const made = await ec2().send(new CreateImageCommand({ InstanceId: c.instanceId, Name: c.name }));
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).amiId).toBe(made.ImageId);
    const all = await ec2().send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [c.name] }] }));
    expect(all.Images).toHaveLength(1);
  });

  it('calls CreateImage again only after the wait, when no image carries the tag or the name, and makes exactly one', async () => {
    await start();
    const recent = await orphan('recently requested', 1_000);
    const old = await orphan('requested long ago', 60_000);
    await t.app.tracker.runOnce();
    // The recent request may still land: no second request yet.
    expect((await creation(recent.id)).amiId).toBeNull();
    expect(await imagesOf(recent.id)).toHaveLength(0);
    const resumed = await creation(old.id);
    expect(resumed.amiId).toMatch(/^ami-/);
    await tickUntil(old.id, ended);
    expect((await imagesOf(old.id)).map((i) => i.ImageId)).toEqual([resumed.amiId]);
  });

  it('ends FAILED, without a second AMI, when another AMI already had the name before the request', async () => {
    await start();
    const foreign = await ec2().send(
      new CreateImageCommand({ InstanceId: await instanceId('teaching-env'), Name: 'taken meanwhile' }),
    );
    const c = await orphan('taken meanwhile', 0);
    // The request was recorded well after the other image was registered.
    await updateCreation(t.app.deps.db, c.id, { imageRequestedAt: Date.now() + 5 * 60_000 });
    await t.app.tracker.runOnce();
    const failed = await creation(c.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toContain(foreign.ImageId!);
    const all = await ec2().send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['taken meanwhile'] }] }),
    );
    expect(all.Images).toHaveLength(1);
  });
});

describe('copies after a crash', () => {
  it('calls CopyImage again with the same ClientToken and gets the same copy, never a second one', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'copy token', copyToRegions: ['us-west-2'] });
    const copying = await tickUntil(c.id, (x) => x.copies[0]!.amiId !== null);
    const copyId = copying.copies[0]!.amiId!;
    // The simulator answers a repeated token with the first copy.
    const again = await ec2('us-west-2').send(
      new CopyImageCommand({
        SourceRegion: 'us-east-1',
        SourceImageId: copying.amiId!,
        Name: c.name,
        ClientToken: copyClientToken(c.id, 'us-west-2'),
      }),
    );
    expect(again.ImageId).toBe(copyId);
    // A crash after CopyImage, before its id was stored (and before it was marked requested).
    await updateCreation(t.app.deps.db, c.id, {}, [
      { region: 'us-west-2', patch: { amiId: null, status: 'PENDING', startedAt: null } },
    ]);
    const done = await tickUntil(c.id, ended);
    expect(done.status).toBe('COMPLETED');
    expect(done.copies[0]!.amiId).toBe(copyId);
    expect((await imagesOf(c.id, 'us-west-2')).map((i) => i.ImageId)).toEqual([copyId]);
  });

  it('adopts a requested copy found by its tag before calling CopyImage again', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'copy tag', copyToRegions: ['eu-west-1'] });
    const copying = await tickUntil(c.id, (x) => x.copies[0]!.amiId !== null);
    const copyId = copying.copies[0]!.amiId!;
    await updateCreation(t.app.deps.db, c.id, {}, [{ region: 'eu-west-1', patch: { amiId: null, status: 'PENDING' } }]);
    let copyCalls = 0;
    const real = t.app.deps.ec2.copyImage.bind(t.app.deps.ec2);
    t.app.deps.ec2.copyImage = (...args) => {
      copyCalls++;
      return real(...args);
    };
    const done = await tickUntil(c.id, ended);
    expect(done.copies[0]!.amiId).toBe(copyId);
    expect(copyCalls).toBe(0);
  });
});

describe('batched polling', () => {
  it('asks each region once per tick for all images and once for all snapshots, whatever the number of creations', async () => {
    await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '0.5' });
    for (let i = 0; i < 5; i++) await createAmi({ instance: i % 2 ? 'teaching-env' : 'demo-workstation', name: `batched ${i}` });
    await t.app.tracker.runOnce();
    const before = (await simStats()).byRegion['us-east-1']!;
    const report = await t.app.tracker.runOnce();
    const after = (await simStats()).byRegion['us-east-1']!;
    expect(report.creations).toBe(5);
    expect((after.DescribeImages ?? 0) - (before.DescribeImages ?? 0)).toBe(1);
    expect((after.DescribeSnapshots ?? 0) - (before.DescribeSnapshots ?? 0)).toBe(1);
  });
});

describe('eventual consistency and errors', () => {
  it('treats an image EC2 does not list yet as not visible for a few minutes, not as failed', async () => {
    let offset = 0;
    await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '0.01' }, { clock: { now: () => Date.now() + offset } });
    const c = await createAmi({ instance: 'teaching-env', name: 'not listed yet' });
    const real = t.app.deps.ec2.findImages.bind(t.app.deps.ec2);
    t.app.deps.ec2.findImages = async (region, query) => (await real(region, query)).filter((i) => i.id !== c.amiId);
    offset = 4 * 60_000;
    await t.app.tracker.runOnce();
    expect(await creation(c.id)).toMatchObject({ status: 'IN_PROGRESS', message: `Waiting for EC2 to list image ${c.amiId}` });
    t.app.deps.ec2.findImages = real;
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).message).toMatch(/^Creating snapshot/);
    t.app.deps.ec2.findImages = async (region, query) => (await real(region, query)).filter((i) => i.id !== c.amiId);
    offset = 6 * 60_000;
    await t.app.tracker.runOnce();
    expect(await creation(c.id)).toMatchObject({ status: 'FAILED' });
    expect((await creation(c.id)).failureReason).toContain(`EC2 no longer lists image ${c.amiId}`);
  });

  it("keeps the loop running and the other creations moving when one creation's update throws", async () => {
    await start();
    const a = await createAmi({ instance: 'teaching-env', name: 'throws on publish' });
    const b = await createAmi({ instance: 'demo-workstation', name: 'keeps going' });
    const realPublish = t.app.deps.events.publish.bind(t.app.deps.events);
    t.app.deps.events.publish = (topic, value) => {
      if (topic.endsWith(a.id)) throw new Error('subscriber exploded');
      realPublish(topic, value);
    };
    await t.app.start();
    const deadline = Date.now() + 10_000;
    while ((await creation(b.id)).status !== 'COMPLETED' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await creation(b.id)).status).toBe('COMPLETED');
    expect(t.app.tracker.isRunning()).toBe(true);
    const lastTick = t.app.tracker.lastTickAt()!;
    await new Promise((r) => setTimeout(r, 300));
    expect(t.app.tracker.lastTickAt()!).toBeGreaterThan(lastTick);
  });
});

describe('failures and time limits', () => {
  it("ends FAILED with EC2's StateReason when the image fails", async () => {
    await start({ SIMULATOR_FAIL_RATE: '1' });
    const c = await createAmi({ instance: 'teaching-env', name: 'doomed', copyToRegions: ['us-west-2'] });
    const failed = await tickUntil(c.id, ended);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/Snapshot creation failed/);
    expect(failed.message).toBe(`Failed: ${failed.failureReason}`);
    expect(failed.copies[0]).toMatchObject({ status: 'FAILED', message: 'Not started: the source image failed' });
    expect((await findAmi(t.app.deps.db, failed.amiId!))?.state).toBe('FAILED');
    const res = await t.gql(AmiCreationDocument, { id: c.id });
    expect(res.amiCreation).toMatchObject({ status: 'FAILED', failureReason: failed.failureReason });
  });

  it('reports a failed copy per region and ends PARTIALLY_COMPLETED when the source is fine', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'copy doomed', copyToRegions: ['us-west-2', 'eu-west-1'] });
    await tickUntil(c.id, (x) => x.stage === 'SNAPSHOTTING');
    await simConfig({ failRate: 1 });
    await tickUntil(c.id, (x) => x.stage === 'COPYING' && x.copies.some((y) => y.amiId));
    await simConfig({ failRate: 0 });
    const done = await tickUntil(c.id, ended);
    expect(done.status).toBe('PARTIALLY_COMPLETED');
    const failedCopies = done.copies.filter((x) => x.status === 'FAILED');
    expect(failedCopies.length).toBeGreaterThan(0);
    for (const copy of failedCopies) expect(copy.failureReason).toMatch(/Snapshot creation failed/);
  });

  it('does not time out before 2 hours, then ends FAILED saying the AMI was left in place', async () => {
    let offset = 0;
    await start(
      { SIMULATOR_SPEED_GIB_PER_SECOND: '0.01' },
      { clock: { now: () => Date.now() + offset }, trackerMaxDurationMs: 60_000 },
    );
    const c = await createAmi({ instance: 'teaching-env', name: 'slow one' });
    await t.app.tracker.runOnce();
    offset = 119 * 60_000;
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).status).toBe('IN_PROGRESS');
    offset = 121 * 60_000;
    await t.app.tracker.runOnce();
    const failed = await creation(c.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toContain('did not finish within 2 hours');
    expect(failed.failureReason).toContain(`${failed.amiId} in us-east-1 was left in place for you to inspect`);
    expect((await imagesOf(c.id)).map((i) => i.ImageId)).toEqual([failed.amiId]);
  });

  it('completes, rather than times out, a creation that finished while the server was down', async () => {
    let offset = 0;
    await start({}, { clock: { now: () => Date.now() + offset } });
    const c = await createAmi({ instance: 'teaching-env', name: 'done while down' });
    await new Promise((r) => setTimeout(r, 1200));
    offset = 3 * 60 * 60_000;
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).status).toBe('COMPLETED');
  });
});

describe('cancel', () => {
  it('deregisters the source and its copies, deletes every snapshot and ends CANCELLED', async () => {
    await start();
    const baseline = { east: await snapshotIds('us-east-1'), west: await snapshotIds('us-west-2') };
    const c = await createAmi({ instance: 'teaching-env', name: 'cancel me', copyToRegions: ['us-west-2'] });
    await tickUntil(c.id, (x) => x.stage === 'COPYING' && x.copies[0]!.amiId !== null);
    await simConfig({ speedGiBPerSecond: 0.01 });
    const res = await t.gql(CancelAmiCreationDocument, { id: c.id });
    if (res.cancelAmiCreation.__typename !== 'CancelAmiCreationSuccess') throw new Error(JSON.stringify(res.cancelAmiCreation));
    expect(res.cancelAmiCreation.creation.status).toBe('CANCELLED');
    const cancelled = await creation(c.id);
    expect(cancelled.completedAt).not.toBeNull();
    expect(cancelled.message).toContain('deregistered');
    expect(await imagesOf(c.id, 'us-east-1')).toEqual([]);
    expect(await imagesOf(c.id, 'us-west-2')).toEqual([]);
    expect(await snapshotIds('us-east-1')).toEqual(baseline.east);
    expect(await snapshotIds('us-west-2')).toEqual(baseline.west);
    expect((await amisOfCreation(t.app.deps.db, c.id)).map((a) => a.state)).toEqual(['DEREGISTERED', 'DEREGISTERED']);
    // The tracker leaves it alone afterwards.
    await t.app.tracker.runOnce();
    expect(await creation(c.id)).toMatchObject({ status: 'CANCELLED', message: cancelled.message });
  });

  it('answers CREATION_FINISHED for a creation that already ended', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'finished first' });
    await tickUntil(c.id, ended);
    const res = await t.gql(CancelAmiCreationDocument, { id: c.id });
    expect(res.cancelAmiCreation).toMatchObject({ __typename: 'InvalidStateError', code: 'CREATION_FINISHED' });
    expect(await imagesOf(c.id)).toHaveLength(1);
  });

  it('is never overwritten by a tick that observed EC2 before the cancel', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'stale tick' });
    await new Promise((r) => setTimeout(r, 1200)); // the image is available now
    const real = t.app.deps.ec2.findImages.bind(t.app.deps.ec2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    t.app.deps.ec2.findImages = async (...args) => {
      const answer = await real(...args);
      if (!held) {
        held = true;
        await gate;
      }
      return answer;
    };
    const tick = t.app.tracker.runOnce();
    while (!held) await new Promise((r) => setTimeout(r, 10));
    const res = await t.gql(CancelAmiCreationDocument, { id: c.id });
    expect(res.cancelAmiCreation.__typename).toBe('CancelAmiCreationSuccess');
    release();
    await tick;
    expect((await creation(c.id)).status).toBe('CANCELLED');
    expect((await findAmi(t.app.deps.db, c.amiId!))?.state).toBe('DEREGISTERED');
    expect(await imagesOf(c.id)).toEqual([]);
  });

  it('leaves nothing behind when it races a CreateImage that is still under way', async () => {
    await start();
    const baseline = await snapshotIds();
    const real = t.app.deps.ec2.createImage.bind(t.app.deps.ec2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let called = false;
    t.app.deps.ec2.createImage = async (...args) => {
      called = true;
      await gate;
      return real(...args);
    };
    const pending = t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name: 'raced', noReboot: true } });
    while (!called) await new Promise((r) => setTimeout(r, 10));
    const [row] = (await t.app.services.creations.list({ user: 'tester' }, { first: 1 })).items;
    const res = await t.gql(CancelAmiCreationDocument, { id: row!.id });
    expect(res.cancelAmiCreation).toMatchObject({ __typename: 'CancelAmiCreationSuccess', creation: { status: 'CANCELLED' } });
    release();
    await pending;
    const after = await creation(row!.id);
    expect(after).toMatchObject({ status: 'CANCELLED' });
    expect(after.completedAt).not.toBeNull();
    expect(await imagesOf(row!.id)).toEqual([]);
    expect(await snapshotIds()).toEqual(baseline);
  });

  it('finishes removing the images later when EC2 fails during the cancel', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'cancel retried' });
    const real = t.app.deps.ec2.deregisterImage.bind(t.app.deps.ec2);
    let failures = 1;
    t.app.deps.ec2.deregisterImage = async (...args) => {
      if (failures-- > 0)
        throw new Ec2CallError('RequestLimitExceeded', 'Request limit exceeded.', 'DeregisterImage', 'us-east-1', 503);
      return real(...args);
    };
    const res = await t.gql(CancelAmiCreationDocument, { id: c.id });
    expect(res.cancelAmiCreation).toMatchObject({ creation: { status: 'CANCELLED' } });
    expect((await creation(c.id)).completedAt).toBeNull();
    expect((await creation(c.id)).message).toContain('will retry');
    expect(await imagesOf(c.id)).toHaveLength(1);
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).completedAt).not.toBeNull();
    expect(await imagesOf(c.id)).toEqual([]);
  });
});

describe('reconciliation', () => {
  it('marks an AMI deregistered outside the service DEREGISTERED with one DescribeImages per region', async () => {
    await start();
    const c = await createAmi({ instance: 'teaching-env', name: 'deleted elsewhere', copyToRegions: ['us-west-2'] });
    const done = await tickUntil(c.id, ended);
    await ec2().send(new DeregisterImageCommand({ ImageId: done.amiId! }));
    const report = await t.app.reconciler.runOnce();
    expect(report).toMatchObject({
      checked: 2,
      regions: 2,
      ec2Calls: 2,
      changed: [{ amiId: done.amiId, from: 'AVAILABLE', to: 'DEREGISTERED' }],
    });
    const listed = await t.gql(UserAmisDocument, {});
    const states = Object.fromEntries(listed.userAmis.edges.map((e) => [e.node.amiId, e.node.state]));
    expect(states).toEqual({ [done.amiId!]: 'DEREGISTERED', [done.copies[0]!.amiId!]: 'AVAILABLE' });
    expect((await creation(c.id)).status).toBe('COMPLETED');
  });

  it('picks up an AMI that became available after its creation stopped being tracked', async () => {
    let offset = 0;
    await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '1' }, { clock: { now: () => Date.now() + offset } });
    const c = await createAmi({ instance: 'teaching-env', name: 'late bloomer' });
    await t.app.tracker.runOnce();
    offset = 3 * 60 * 60_000;
    await simConfig({ speedGiBPerSecond: 0.01 });
    await t.app.tracker.runOnce();
    expect((await creation(c.id)).status).toBe('FAILED');
    expect((await findAmi(t.app.deps.db, c.amiId!))?.state).toBe('PENDING');
    await simConfig({ speedGiBPerSecond: 1000 });
    await new Promise((r) => setTimeout(r, 100));
    await t.app.reconciler.runOnce();
    expect((await findAmi(t.app.deps.db, c.amiId!))?.state).toBe('AVAILABLE');
    expect(tagMap((await imagesOf(c.id))[0]?.Tags)['prism:creation-id']).toBe(c.id);
  });
});
