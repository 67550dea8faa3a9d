// Sharing and publishing, applied at the end (the PUBLISHING stage) to the source and every copy.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const ALICE = '111122223333';
const BOB = '444455556666';

describe('publishing and sharing at the end', () => {
  it('passes through PUBLISHING, then makes the image public and shared with each account, snapshots included', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'shared and public', public: true, shareWithAccounts: [ALICE, BOB] }, { volumesGiB: [8] });
    const watched = await h.watch(c.id);
    h.fake.advance(c.amiId!, 50);
    await h.tick();
    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    await h.tick();
    await watched.ended();

    expect(watched.values.map((v) => [v.status, v.stage, v.progress, v.message])).toEqual([
      ['IN_PROGRESS', 'SNAPSHOTTING', 0, 'Creating snapshot - 0% complete'],
      ['IN_PROGRESS', 'SNAPSHOTTING', 49, 'Creating snapshot - 50% complete'],
      ['IN_PROGRESS', 'PUBLISHING', 49, 'Publishing to the community and Sharing with 2 accounts'],
      ['COMPLETED', 'DONE', 100, `AMI ${c.amiId} is available in us-east-1`],
    ]);
    expect((await h.status(c.id)).failureReason).toBeNull();
    expect(h.fake.launchPermissions(c.amiId!)).toEqual({ public: true, userIds: [ALICE, BOB] });
    for (const id of h.fake.image(c.amiId!).snapshotIds) expect(h.fake.snapshot(id)?.createVolumeUserIds).toEqual([ALICE, BOB]);
    expect(h.fake.image(c.amiId!).tags).toContainEqual({ key: 'prism:community', value: 'published' });
    expect(await h.ami(c.amiId!)).toMatchObject({ visibility: 'PUBLIC', publishedAt: h.clock.now() });
  });

  it('shares every copy too, and reports block public access in a copy region in the message', async () => {
    h = await createUnitHarness();
    const c = await h.create(
      { name: 'blocked in a copy region', public: true, copyToRegions: ['us-west-2'] },
      { volumesGiB: [8] },
    );
    h.fake.setBlockPublicAccess('us-west-2', 'block-new-sharing');
    h.fake.complete(c.amiId!);
    await h.tick();
    const copyId = (await h.status(c.id)).copies[0]!.amiId!;
    h.fake.complete(copyId);
    h.clock.advance(1000);
    await h.tick();

    expect(await h.status(c.id)).toMatchObject({
      status: 'COMPLETED',
      stage: 'DONE',
      progress: 100,
      message: `AMI ${c.amiId} is available in us-east-1 and us-west-2; not made public in us-west-2: block public access for AMIs is on`,
      failureReason: 'not made public in us-west-2: block public access for AMIs is on',
    });
    expect(h.fake.launchPermissions(c.amiId!).public).toBe(true);
    expect(h.fake.launchPermissions(copyId).public).toBe(false);
    expect((await h.ami(copyId))?.visibility).toBe('PRIVATE');
  });

  it('stays PUBLISHING when EC2 throttles the sharing, and the next tick finishes it', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'throttled sharing', shareWithAccounts: [ALICE] }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    h.fake.failNext('ModifyImageAttribute');
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ status: 'IN_PROGRESS', stage: 'PUBLISHING', message: 'Sharing with 1 account' });
    expect(h.fake.launchPermissions(c.amiId!).userIds).toEqual([]);

    h.clock.advance(1000);
    const { calls } = await h.tick();
    expect(calls.map((x) => x.action)).toEqual(['ModifyImageAttribute', 'ModifySnapshotAttribute']);
    expect(await h.status(c.id)).toMatchObject({ status: 'COMPLETED', message: `AMI ${c.amiId} is available in us-east-1` });
    expect(h.fake.launchPermissions(c.amiId!).userIds).toEqual([ALICE]);
    expect((await h.ami(c.amiId!))?.visibility).toBe('SHARED');
  });

  it("does not hold up the other creations of the tick when one creation's sharing is throttled", async () => {
    h = await createUnitHarness();
    const first = await h.create({ name: 'shared first', shareWithAccounts: [ALICE] }, { volumesGiB: [8] });
    const second = await h.create({ name: 'shared second', shareWithAccounts: [BOB] }, { volumesGiB: [8] });
    h.fake.complete(first.amiId!);
    h.fake.complete(second.amiId!);
    h.fake.failNext('ModifyImageAttribute');
    await h.tick();
    expect([(await h.status(first.id)).status, (await h.status(second.id)).status].sort()).toEqual(['COMPLETED', 'IN_PROGRESS']);
    h.clock.advance(1000);
    await h.tick();
    expect([(await h.status(first.id)).status, (await h.status(second.id)).status]).toEqual(['COMPLETED', 'COMPLETED']);
  });
});
