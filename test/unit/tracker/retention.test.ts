// A template's retention, applied when a creation completes: the owner's older AMIs of the template
// beyond the newest keepLatest are deregistered in every region, their snapshots deleted, and their
// rows kept as DEREGISTERED with the reason; public and protected ones stay.
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/services/errors.js';
import type { CreateAmiRequest } from '../../../src/services/validation.js';
import type { CreationRecord } from '../../../src/db/creations.js';
import { createUnitHarness, ownedBy, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const TEMPLATE = 'gpu-base';

/** Every image of a creation on EC2 (source and copies). */
const imagesOf = (c: CreationRecord) => [c.amiId!, ...c.copies.map((x) => x.amiId!)];

/** A creation of the viewer's, driven to its end: the source completes, then each copy. */
async function capture(name: string, input: Partial<CreateAmiRequest> = {}): Promise<CreationRecord> {
  const c = await h.create({ name, templateName: TEMPLATE, ...input });
  return finishCapture(c);
}

async function finishCapture(c: CreationRecord): Promise<CreationRecord> {
  h.fake.complete(c.amiId!);
  h.clock.advance(1000);
  await h.tick();
  const started = await h.status(c.id);
  if (started.copies.length) {
    for (const copy of started.copies) h.fake.complete(copy.amiId!);
    h.clock.advance(1000);
    await h.tick();
  }
  return h.status(c.id);
}

/** Which of these images EC2 still lists as registered, and which of their snapshots still exist. */
function onEc2(ids: string[]) {
  return ids.map((id) => {
    const image = h.fake.image(id);
    return { id, state: image.state, snapshots: image.snapshotIds.filter((s) => h.fake.snapshot(s)).length };
  });
}

describe('retention when a creation completes', () => {
  it('retires the AMIs beyond the newest keepLatest in every region, snapshots included, and keeps the newest', async () => {
    h = await createUnitHarness();
    const a = await capture('gpu base 1', { copyToRegions: ['us-west-2'] });
    const b = await capture('gpu base 2', { copyToRegions: ['us-west-2'] });
    const before = h.fake.calls.length;
    const c = await capture('gpu base 3', { copyToRegions: ['us-west-2'], retention: { keepLatest: 2 } });

    expect(c).toMatchObject({
      status: 'COMPLETED',
      message: `AMI ${c.amiId} is available in us-east-1 and us-west-2; retired 1 older AMI of template '${TEMPLATE}': ${a.amiId} (and its copies)`,
    });
    expect(onEc2(imagesOf(a))).toEqual(imagesOf(a).map((id) => ({ id, state: 'deregistered', snapshots: 0 })));
    expect(onEc2([...imagesOf(b), ...imagesOf(c)]).every((x) => x.state === 'available' && x.snapshots === 1)).toBe(true);
    const since = h.fake.callsSince(before);
    expect(since.filter((x) => x.action === 'DeregisterImage').map((x) => [x.region, x.args])).toEqual([
      ['us-east-1', { imageId: a.amiId }],
      ['us-west-2', { imageId: a.copies[0]!.amiId }],
    ]);
    expect(since.filter((x) => x.action === 'DeleteSnapshot').map((x) => x.region)).toEqual(['us-east-1', 'us-west-2']);
    const reason = `Retired by the retention of template '${TEMPLATE}' (keep latest 2) when ${c.amiId} became available`;
    for (const id of imagesOf(a)) {
      expect(await h.ami(id)).toMatchObject({ state: 'DEREGISTERED', visibility: 'PRIVATE', deregisteredReason: reason });
    }
    for (const id of [...imagesOf(b), ...imagesOf(c)]) {
      expect(await h.ami(id)).toMatchObject({ state: 'AVAILABLE', deregisteredReason: null });
    }
    expect(c.retentionKeepLatest).toBe(2);
  });

  it("leaves other users' AMIs, other templates and AMIs still being created alone", async () => {
    h = await createUnitHarness();
    const mine = await capture('mine old');
    const otherTemplate = await capture('other template', { templateName: 'cpu-base' });
    const theirs = await h.services.creations.create(
      { user: 'someone-else' },
      { instance: h.fake.addInstance({ tags: ownedBy('someone-else') }), name: 'theirs', templateName: TEMPLATE },
    );
    h.fake.complete(theirs.amiId!);
    h.clock.advance(1000);
    await h.tick();
    const unfinished = await h.create({ name: 'still snapshotting', templateName: TEMPLATE });
    const c = await capture('mine new', { retention: { keepLatest: 1 } });

    expect(c.message).toBe(
      `AMI ${c.amiId} is available in us-east-1; retired 1 older AMI of template '${TEMPLATE}': ${mine.amiId}`,
    );
    expect(h.fake.callsOf('DeregisterImage').map((x) => x.args)).toEqual([{ imageId: mine.amiId }]);
    expect((await h.ami(otherTemplate.amiId!))?.state).toBe('AVAILABLE');
    expect((await h.ami(theirs.amiId!))?.state).toBe('AVAILABLE');
    expect((await h.ami(unfinished.amiId!))?.state).toBe('PENDING');
    expect((await h.status(unfinished.id)).status).toBe('IN_PROGRESS');
  });

  it('keeps a public AMI and says so in the message', async () => {
    h = await createUnitHarness();
    const published = await capture('published one', { public: true });
    const older = await capture('private one');
    const c = await capture('newest', { retention: { keepLatest: 1 } });

    expect(c.message).toBe(
      `AMI ${c.amiId} is available in us-east-1; retired 1 older AMI of template '${TEMPLATE}': ${older.amiId}; kept ${published.amiId} (public)`,
    );
    expect(h.fake.image(published.amiId!).state).toBe('available');
    expect(await h.ami(published.amiId!)).toMatchObject({ state: 'AVAILABLE', visibility: 'PUBLIC' });
    expect(h.fake.callsOf('DeregisterImage').map((x) => x.args)).toEqual([{ imageId: older.amiId }]);
  });

  it('keeps an AMI whose deregistration protection EC2 reports, and the creation still completes', async () => {
    h = await createUnitHarness();
    const protectedAmi = await capture('protected one');
    h.fake.failNext('DeregisterImage', {
      error: {
        code: 'OperationNotPermitted',
        message: `Image ${protectedAmi.amiId} has deregistration protection enabled. Disable it before deregistering the image.`,
      },
    });
    const c = await capture('newest', { retention: { keepLatest: 1 } });

    expect(c).toMatchObject({
      status: 'COMPLETED',
      message: `AMI ${c.amiId} is available in us-east-1; kept ${protectedAmi.amiId} (deregistration protection is on)`,
    });
    expect(await h.ami(protectedAmi.amiId!)).toMatchObject({ state: 'AVAILABLE', deregisteredReason: null });
    expect(h.fake.callsOf('DeleteSnapshot')).toEqual([]);
  });

  it('keeps an AMI whose row says its deregistration protection is on, sending EC2 no DeregisterImage', async () => {
    h = await createUnitHarness();
    const protectedAmi = await capture('protected by the service', { deregistrationProtection: true });
    expect(await h.ami(protectedAmi.amiId!)).toMatchObject({ deregistrationProtection: true });
    const c = await capture('newest', { retention: { keepLatest: 1 } });

    expect(c.message).toBe(
      `AMI ${c.amiId} is available in us-east-1; kept ${protectedAmi.amiId} (deregistration protection is on)`,
    );
    expect(h.fake.callsOf('DeregisterImage')).toEqual([]);
  });

  it('reports an image EC2 refuses to deregister for another reason, without failing the creation', async () => {
    h = await createUnitHarness();
    const old = await capture('refused one');
    h.fake.failNext('DeregisterImage', { error: { code: 'UnauthorizedOperation', status: 403, message: 'not allowed' } });
    const c = await capture('newest', { retention: { keepLatest: 1 } });

    expect(c.status).toBe('COMPLETED');
    expect(c.message).toMatch(
      new RegExp(
        `^AMI ${c.amiId} is available in us-east-1; retention: could not retire ${old.amiId} in us-east-1: .*not allowed`,
      ),
    );
    expect((await h.ami(old.amiId!))?.state).toBe('AVAILABLE');
  });

  it('retries on the next tick when EC2 throttles, without asking again for what is already gone', async () => {
    h = await createUnitHarness();
    const oldest = await capture('oldest');
    const older = await capture('older');
    const c = await h.create({ name: 'newest', templateName: TEMPLATE, retention: { keepLatest: 1 } });
    // The first retirement goes through; the second is throttled.
    h.fake.beforeAnswering('DeregisterImage', () => h.fake.failNext('DeregisterImage'));
    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    await h.tick();

    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      message: `Retiring older AMIs of template '${TEMPLATE}'`,
    });
    expect(h.fake.image(older.amiId!).state).toBe('deregistered');
    expect(h.fake.image(oldest.amiId!).state).toBe('available');

    h.clock.advance(5000);
    await h.tick();
    const done = await h.status(c.id);
    expect(done.message).toBe(
      `AMI ${c.amiId} is available in us-east-1; retired 2 older AMIs of template '${TEMPLATE}': ${older.amiId}, ${oldest.amiId}`,
    );
    const succeeded = h.fake.callsOf('DeregisterImage').filter((x) => !x.errorCode);
    expect(succeeded.map((x) => x.args)).toEqual([{ imageId: older.amiId }, { imageId: oldest.amiId }]);
    const deleted = h.fake.callsOf('DeleteSnapshot').map((x) => (x.args as { snapshotId: string }).snapshotId);
    expect(deleted).toEqual([...h.fake.image(older.amiId!).snapshotIds, ...h.fake.image(oldest.amiId!).snapshotIds]);
    for (const id of [older.amiId!, oldest.amiId!]) expect((await h.ami(id))?.state).toBe('DEREGISTERED');
  });

  it('retires nothing when the creation fails', async () => {
    h = await createUnitHarness();
    const old = await capture('still wanted');
    const c = await h.create({ name: 'broken', templateName: TEMPLATE, retention: { keepLatest: 1 } });
    h.fake.fail(c.amiId!, 'Client.InternalError: snapshot failed');
    h.clock.advance(1000);
    await h.tick();

    expect((await h.status(c.id)).status).toBe('FAILED');
    expect(h.fake.callsOf('DeregisterImage')).toEqual([]);
    expect((await h.ami(old.amiId!))?.state).toBe('AVAILABLE');
  });

  it('retires nothing when the creation is cancelled while the tick that sees it available runs', async () => {
    h = await createUnitHarness();
    const old = await capture('still wanted');
    const c = await h.create({ name: 'cancelled late', templateName: TEMPLATE, retention: { keepLatest: 1 } });
    await h.tick();
    h.fake.complete(c.amiId!);
    h.fake.beforeAnswering('DescribeSnapshots', async () => {
      await h.services.creations.cancel(h.viewer, c.id);
    });
    h.clock.advance(1000);
    await h.tick();

    expect((await h.status(c.id)).status).toBe('CANCELLED');
    expect(h.fake.callsOf('DeregisterImage').map((x) => x.args)).toEqual([{ imageId: c.amiId }]);
    expect(h.fake.image(old.amiId!).state).toBe('available');
    expect((await h.ami(old.amiId!))?.state).toBe('AVAILABLE');
  });

  it('shortens a long list of retired AMIs', async () => {
    h = await createUnitHarness();
    const old: string[] = [];
    for (let i = 1; i <= 7; i++) old.unshift((await capture(`gpu base ${i}`)).amiId!);
    const c = await capture('gpu base 8', { retention: { keepLatest: 1 } });

    expect(c.message).toBe(
      `AMI ${c.amiId} is available in us-east-1; retired 7 older AMIs of template '${TEMPLATE}': ${old.slice(0, 5).join(', ')} and 2 more`,
    );
  });
});

describe('retention in createAmi', () => {
  it('refuses keepLatest without templateName, and out of range, every problem at once, sending EC2 nothing', async () => {
    h = await createUnitHarness();
    const instance = h.fake.addInstance({ tags: ownedBy(h.viewer.user) });
    const err = await h.services.creations
      .create(h.viewer, { instance, name: 'no template', retention: { keepLatest: 0 } })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldErrors).toEqual([
      { path: 'input.retention.keepLatest', message: 'must be between 1 and 100 (got 0)' },
      { path: 'input.retention', message: 'set templateName: retention keeps the newest AMIs of one template' },
    ]);
    expect(h.fake.calls.filter((x) => x.action !== 'DescribeRegions')).toEqual([]);
    expect((await h.services.creations.list(h.viewer, {})).items).toEqual([]);
  });
});
