// protectAmi and deregisterAmi's refusal of a protected AMI, against the in-memory EC2 fake.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError, ForbiddenError } from '../../src/services/errors.js';
import { createUnitHarness, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

/** A finished creation's AMI, available in the source region. */
async function availableAmi(name: string): Promise<string> {
  const c = await h.create({ name });
  h.fake.complete(c.amiId!);
  await h.tick();
  expect((await h.status(c.id)).status).toBe('COMPLETED');
  return c.amiId!;
}

describe('protectAmi', () => {
  it('turns the protection on in EC2 and on the row, and off again', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi('protect me');

    const on = await h.services.amis.protect(h.viewer, { amiId, enabled: true });
    expect(on.deregistrationProtection).toBe(true);
    expect(h.fake.image(amiId).deregistrationProtection).toBe(true);
    expect(h.fake.callsOf('EnableImageDeregistrationProtection').map((c) => c.region)).toEqual(['us-east-1']);

    const off = await h.services.amis.protect(h.viewer, { amiId, enabled: false });
    expect(off.deregistrationProtection).toBe(false);
    expect(h.fake.image(amiId).deregistrationProtection).toBe(false);
  });

  it("refuses another user's AMI and sends nothing to EC2", async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi('not yours');
    const mark = h.fake.calls.length;
    await expect(h.services.amis.protect({ user: 'mallory' }, { amiId, enabled: true })).rejects.toBeInstanceOf(ForbiddenError);
    expect(h.fake.callsSince(mark)).toEqual([]);
  });

  it('refuses an AMI that is not available yet', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'still pending' });
    await expect(h.services.amis.protect(h.viewer, { amiId: c.amiId!, enabled: true })).rejects.toBeInstanceOf(InvalidStateError);
  });
});

describe('deregisterAmi on a protected AMI', () => {
  it('answers InvalidStateError naming the protection and how to lift it, and sends nothing to EC2', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi('protected');
    await h.services.amis.protect(h.viewer, { amiId, enabled: true });
    const mark = h.fake.calls.length;

    const refused = h.services.amis.deregister(h.viewer, { amiId });
    await expect(refused).rejects.toBeInstanceOf(InvalidStateError);
    await expect(refused).rejects.toThrow(
      `AMI ${amiId} has deregistration protection on, so it cannot be deregistered. Lift it first with ` +
        `protectAmi(input: { amiId: "${amiId}", enabled: false }) or \`prism-ami protect ${amiId} --off\`, then deregister it.`,
    );
    expect(h.fake.callsSince(mark)).toEqual([]);
    expect((await h.ami(amiId))?.state).toBe('AVAILABLE');
  });

  it('answers InvalidStateError when EC2 refuses for a protection turned on elsewhere, and the row learns it', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi('protected by hand');
    await h.fake.enableDeregistrationProtection('us-east-1', amiId);

    await expect(h.services.amis.deregister(h.viewer, { amiId })).rejects.toBeInstanceOf(InvalidStateError);
    expect(h.fake.image(amiId).state).toBe('available');
    expect(await h.ami(amiId)).toMatchObject({ state: 'AVAILABLE', deregistrationProtection: true });
  });

  it('deregisters once protectAmi has lifted the protection', async () => {
    h = await createUnitHarness();
    const amiId = await availableAmi('lifted');
    await h.services.amis.protect(h.viewer, { amiId, enabled: true });
    await h.services.amis.protect(h.viewer, { amiId, enabled: false });

    const gone = await h.services.amis.deregister(h.viewer, { amiId });
    expect(gone.state).toBe('DEREGISTERED');
    expect(h.fake.image(amiId).state).toBe('deregistered');
  });
});
