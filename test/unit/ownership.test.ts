// The ownership rule and the per-user creation cap, in the creation service against the in-memory
// EC2 fake: where in the request each is decided (which EC2 calls a refusal still sends) and that
// parallel requests cannot slip past the cap.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, ownedBy, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const actions = (calls: { action: string }[]) => calls.map((c) => c.action).filter((a) => a !== 'DescribeRegions');

async function refusal(run: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  if (!err) throw new Error('expected a refusal');
  return err;
}

describe('who may capture an instance', () => {
  it("refuses another user's instance with FORBIDDEN after DescribeInstances, before the name check, the volumes and CreateImage", async () => {
    h = await createUnitHarness();
    const instance = h.fake.addInstance({ name: 'alices', tags: ownedBy('alice') });
    const mark = h.fake.callCount();
    const err = await refusal(() => h.services.creations.create(h.viewer, { instance, name: 'not mine' }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toMatch(/prism:owner=tester/);
    expect(actions(h.fake.callsSince(mark))).toEqual(['DescribeInstances']);
    expect((await h.services.creations.list(h.viewer, {})).items).toEqual([]);
  });

  it('lets an admin capture it, and any user under mode any', async () => {
    h = await createUnitHarness();
    const instance = h.fake.addInstance({ tags: ownedBy('alice') });
    const byAdmin = await h.services.creations.create({ user: 'root', admin: true }, { instance, name: 'admin' });
    expect(byAdmin.owner).toBe('root');
    await h.close();
    h = await createUnitHarness({ access: { mode: 'any' } });
    const untagged = h.fake.addInstance();
    expect((await h.services.creations.create(h.viewer, { instance: untagged, name: 'anyone' })).status).not.toBe('FAILED');
  });

  it('answers INSTANCE_STATE_INVALID for a Name tag that only terminated instances carry, naming them', async () => {
    h = await createUnitHarness();
    const a = h.fake.addInstance({ name: 'gone', state: 'terminated', tags: ownedBy('tester') });
    const b = h.fake.addInstance({ name: 'gone', state: 'terminated', tags: ownedBy('tester') });
    const err = await refusal(() => h.services.creations.create(h.viewer, { instance: 'gone', name: 'gone image' }));
    expect(err.code).toBe('INSTANCE_STATE_INVALID');
    expect(err.message).toContain(`The only instances named "gone" (${a}, ${b}) are terminated`);
  });
});

describe('MAX_ACTIVE_CREATIONS_PER_USER', () => {
  it('refuses past the cap with LIMIT_EXCEEDED before any EC2 call, naming the cap, the active count and the variable', async () => {
    h = await createUnitHarness({ maxActiveCreationsPerUser: 2 });
    await h.create({ name: 'one' });
    await h.create({ name: 'two' });
    const instance = h.fake.addInstance({ tags: ownedBy('tester') });
    const mark = h.fake.callCount();
    const err = await refusal(() => h.services.creations.create(h.viewer, { instance, name: 'three' }));
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toMatch(/You have 2 active AMI creations; the limit is 2 per user \(MAX_ACTIVE_CREATIONS_PER_USER\)/);
    expect(actions(h.fake.callsSince(mark))).toEqual([]);
  });

  it('lets no more than the cap through when the requests arrive together', async () => {
    h = await createUnitHarness({ maxActiveCreationsPerUser: 3 });
    const instances = Array.from({ length: 6 }, () => h.fake.addInstance({ tags: ownedBy('tester') }));
    const results = await Promise.allSettled(
      instances.map((instance, k) => h.services.creations.create(h.viewer, { instance, name: `together ${k}` })),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { code: string }).code);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toEqual(['LIMIT_EXCEEDED', 'LIMIT_EXCEEDED', 'LIMIT_EXCEEDED']);
    expect(h.fake.calls.filter((c) => c.action === 'CreateImage')).toHaveLength(3);
  });

  it('gives the place back when a request is refused for another reason, and counts only active creations', async () => {
    h = await createUnitHarness({ maxActiveCreationsPerUser: 1 });
    const theirs = h.fake.addInstance({ tags: ownedBy('alice') });
    expect((await refusal(() => h.services.creations.create(h.viewer, { instance: theirs, name: 'not mine' }))).code).toBe(
      'FORBIDDEN',
    );
    const first = await h.create({ name: 'first' });
    await h.services.creations.cancel(h.viewer, first.id);
    expect((await h.create({ name: 'after a cancel' })).status).toBe('IN_PROGRESS');
  });

  it("counts each user's creations apart, and answers an idempotent retry at the cap with its creation", async () => {
    h = await createUnitHarness({ maxActiveCreationsPerUser: 1 });
    const first = await h.create({ name: 'mine', idempotencyKey: 'k1' });
    const retry = await h.services.creations.create(h.viewer, { instance: first.instanceId, name: 'mine', idempotencyKey: 'k1' });
    expect(retry.id).toBe(first.id);
    const bobs = h.fake.addInstance({ tags: ownedBy('bob') });
    expect((await h.services.creations.create({ user: 'bob' }, { instance: bobs, name: 'bobs' })).owner).toBe('bob');
  });
});
