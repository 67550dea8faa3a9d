// The APPLYING_SETTINGS stage: deprecation, deregistration protection, IMDSv2 and the SSM parameter,
// on the source image and every completed copy, each in its own region.
import { afterEach, describe, expect, it } from 'vitest';
import { createUnitHarness, T0, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const DEPRECATE_AT = new Date(T0 + 90 * 86_400_000);
const ALL = {
  deprecateAt: DEPRECATE_AT,
  deregistrationProtection: true,
  requireImdsV2: true,
  ssmParameter: '/images/teaching/latest',
};

/** The source image available, then (after a tick) its copy to us-west-2 available too; the copy's id. */
async function throughCopy(c: { id: string; amiId: string | null }): Promise<string> {
  h.fake.complete(c.amiId!);
  await h.tick();
  const copyId = (await h.status(c.id)).copies[0]!.amiId!;
  h.fake.complete(copyId);
  h.clock.advance(1000);
  return copyId;
}

describe('APPLYING_SETTINGS', () => {
  it('applies every setting to the source and the copy, each in its own region, and records them on the AMI rows', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'all settings', copyToRegions: ['us-west-2'], ...ALL });
    const copyId = await throughCopy(c);
    const { calls } = await h.tick();

    const describes = new Set(['DescribeImages', 'DescribeSnapshots', 'CreateTags']);
    const settingCalls = calls.filter((x) => !describes.has(x.action));
    expect(settingCalls.map((x) => [x.action, x.region])).toEqual([
      ['EnableImageDeprecation', 'us-east-1'],
      ['EnableImageDeregistrationProtection', 'us-east-1'],
      ['ModifyImageAttribute', 'us-east-1'],
      ['EnableImageDeprecation', 'us-west-2'],
      ['EnableImageDeregistrationProtection', 'us-west-2'],
      ['ModifyImageAttribute', 'us-west-2'],
    ]);
    for (const amiId of [c.amiId!, copyId]) {
      expect(h.fake.image(amiId)).toMatchObject({
        deprecationTime: DEPRECATE_AT.toISOString(),
        deregistrationProtection: true,
        imdsSupport: 'v2.0',
      });
      expect(await h.ami(amiId)).toMatchObject({
        deprecationTime: DEPRECATE_AT.getTime(),
        deregistrationProtection: true,
        imdsSupport: 'v2.0',
        ssmParameter: '/images/teaching/latest',
      });
    }
    expect(h.ssm.calls.map((x) => [x.action, x.region, x.args])).toEqual([
      [
        'PutParameter',
        'us-east-1',
        { name: '/images/teaching/latest', value: c.amiId, dataType: 'aws:ec2:image', overwrite: true },
      ],
      [
        'PutParameter',
        'us-west-2',
        { name: '/images/teaching/latest', value: copyId, dataType: 'aws:ec2:image', overwrite: true },
      ],
    ]);
    expect(h.ssm.parameter('us-west-2', '/images/teaching/latest')?.value).toBe(copyId);
    const done = await h.status(c.id);
    expect(done).toMatchObject({ status: 'COMPLETED', stage: 'DONE', progress: 100, failureReason: null });
    expect(done.settingsAppliedAt).toBe(h.clock.now());
    expect(done.copies[0]!.settingsAppliedAt).toBe(h.clock.now());
  });

  it('passes through APPLYING_SETTINGS with its message before completing, progress never going back', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'watched settings', requireImdsV2: true }, { volumesGiB: [8] });
    const watched = await h.watch(c.id);
    h.fake.advance(c.amiId!, 50);
    await h.tick();
    h.ssm.failNextPut(); // not asked for: the fault stays unused
    h.fake.failNext('ModifyImageAttribute');
    h.fake.complete(c.amiId!);
    h.clock.advance(1000);
    await h.tick();
    h.clock.advance(10_000);
    await h.tick();
    await watched.ended();

    expect(watched.values.map((v) => [v.status, v.stage, v.progress, v.message])).toEqual([
      ['IN_PROGRESS', 'SNAPSHOTTING', 0, 'Creating snapshot - 0% complete'],
      ['IN_PROGRESS', 'SNAPSHOTTING', 49, 'Creating snapshot - 50% complete'],
      ['IN_PROGRESS', 'APPLYING_SETTINGS', 49, 'Applying settings in us-east-1'],
      ['IN_PROGRESS', 'APPLYING_SETTINGS', 98, 'Applying settings in us-east-1'],
      // The image's settings recorded as done, then the ending.
      ['IN_PROGRESS', 'APPLYING_SETTINGS', 98, 'Applying settings in us-east-1'],
      ['COMPLETED', 'DONE', 100, `AMI ${c.amiId} is available in us-east-1`],
    ]);
    expect(h.ssm.calls).toEqual([]);
  });

  it('retries after a throttled call with only the settings not yet done', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'throttled settings', ...ALL });
    h.fake.complete(c.amiId!);
    h.fake.failNext('EnableImageDeregistrationProtection');
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ status: 'IN_PROGRESS', stage: 'APPLYING_SETTINGS' });
    expect(await h.ami(c.amiId!)).toMatchObject({ deprecationTime: DEPRECATE_AT.getTime(), deregistrationProtection: false });

    h.clock.advance(60_000);
    const { calls } = await h.tick();
    expect(calls.map((x) => x.action)).toEqual(['EnableImageDeregistrationProtection', 'ModifyImageAttribute']);
    expect(h.fake.callsOf('EnableImageDeprecation')).toHaveLength(1);
    expect(h.ssm.calls).toHaveLength(1);
    expect(await h.status(c.id)).toMatchObject({ status: 'COMPLETED', failureReason: null });
  });

  it('does not apply the settings of an image already done again when only a copy is left', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'copy throttled', copyToRegions: ['us-west-2'], ssmParameter: 'teaching-latest' });
    const copyId = await throughCopy(c);
    h.ssm.failNextPut({ region: 'us-west-2' });
    await h.tick();
    const halfway = await h.status(c.id);
    expect(halfway).toMatchObject({ stage: 'APPLYING_SETTINGS', message: 'Applying settings in us-west-2' });
    expect(halfway.settingsAppliedAt).not.toBeNull();
    expect(halfway.copies[0]!.settingsAppliedAt).toBeNull();

    h.clock.advance(60_000);
    await h.tick();
    expect(h.ssm.calls.map((x) => [x.region, x.errorCode])).toEqual([
      ['us-east-1', undefined],
      ['us-west-2', 'ThrottlingException'],
      ['us-west-2', undefined],
    ]);
    expect(h.ssm.parameter('us-west-2', 'teaching-latest')?.value).toBe(copyId);
    expect((await h.status(c.id)).status).toBe('COMPLETED');
  });

  it('reports a refused setting in the final message, applies the rest, and still completes', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'refused ssm', requireImdsV2: true, ssmParameter: 'teaching-latest' });
    h.fake.complete(c.amiId!);
    h.ssm.failNextPut({ error: { code: 'ParameterLimitExceeded', message: 'You have exceeded the number of parameters' } });
    await h.tick();

    const reason =
      'SSM parameter teaching-latest not applied in us-east-1: ParameterLimitExceeded: You have exceeded the number of parameters';
    expect(await h.status(c.id)).toMatchObject({
      status: 'COMPLETED',
      stage: 'DONE',
      message: `AMI ${c.amiId} is available in us-east-1; ${reason}`,
      failureReason: reason,
    });
    expect(await h.ami(c.amiId!)).toMatchObject({ imdsSupport: 'v2.0', ssmParameter: null });
  });

  it('goes on to PUBLISHING after the settings, and reports both stages’ problems at the end', async () => {
    h = await createUnitHarness();
    const c = await h.create({
      name: 'settings then sharing',
      deregistrationProtection: true,
      shareWithAccounts: ['111122223333'],
    });
    h.fake.complete(c.amiId!);
    h.fake.failNext('EnableImageDeregistrationProtection', { error: { code: 'InvalidParameter', message: 'not allowed' } });
    await h.tick();

    const c2 = await h.status(c.id);
    expect(c2).toMatchObject({
      status: 'COMPLETED',
      message: `AMI ${c.amiId} is available in us-east-1; deregistration protection not applied in us-east-1: InvalidParameter: not allowed`,
    });
    expect(h.fake.launchPermissions(c.amiId!).userIds).toEqual(['111122223333']);
  });

  it('skips the stage entirely when no setting is asked for', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'plain' });
    h.fake.complete(c.amiId!);
    const { calls } = await h.tick();
    expect(calls.map((x) => x.action)).toEqual(['DescribeImages', 'DescribeSnapshots', 'CreateTags']);
    expect(h.ssm.calls).toEqual([]);
    expect((await h.status(c.id)).settingsAppliedAt).toBeNull();
  });

  it('leaves a failed copy alone and applies the settings to the source', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'failed copy', copyToRegions: ['us-west-2'], requireImdsV2: true });
    h.fake.complete(c.amiId!);
    await h.tick();
    const copyId = (await h.status(c.id)).copies[0]!.amiId!;
    h.fake.fail(copyId, 'Copy failed');
    h.clock.advance(1000);
    await h.tick();

    expect(h.fake.callsOf('ModifyImageAttribute').map((x) => x.region)).toEqual(['us-east-1']);
    expect(await h.status(c.id)).toMatchObject({ status: 'PARTIALLY_COMPLETED' });
  });

  it('removes images the stage already protected when the creation is cancelled in it', async () => {
    h = await createUnitHarness();
    const c = await h.create({
      name: 'cancelled while protected',
      copyToRegions: ['us-west-2'],
      deregistrationProtection: true,
      ssmParameter: 'teaching-latest',
    });
    const copyId = await throughCopy(c);
    h.ssm.failNextPut({ region: 'us-west-2' });
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ status: 'IN_PROGRESS', stage: 'APPLYING_SETTINGS' });
    expect(h.fake.image(copyId).deregistrationProtection).toBe(true);

    await h.services.creations.cancel(h.viewer, c.id);
    expect(await h.status(c.id)).toMatchObject({ status: 'CANCELLED' });
    expect(h.fake.image(c.amiId!).state).toBe('deregistered');
    expect(h.fake.image(copyId).state).toBe('deregistered');
  });

  it('applies the settings to the encrypted image, after ENCRYPTING, never to the unencrypted one it replaced', async () => {
    h = await createUnitHarness();
    const c = await h.create({
      name: 'encrypted with settings',
      encryption: { kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' },
      requireImdsV2: true,
      ssmParameter: 'encrypted-latest',
    });
    const unencrypted = c.amiId!;
    h.fake.complete(unencrypted);
    await h.tick();
    const encrypted = (await h.status(c.id)).amiId!;
    expect(encrypted).not.toBe(unencrypted);
    h.fake.complete(encrypted);
    h.clock.advance(1000);
    await h.tick();

    expect(await h.status(c.id)).toMatchObject({ status: 'COMPLETED', amiId: encrypted, failureReason: null });
    expect(h.fake.callsOf('ModifyImageAttribute').map((x) => x.args)).toEqual([{ imageId: encrypted, imdsSupport: 'v2.0' }]);
    expect(h.ssm.parameter('us-east-1', 'encrypted-latest')?.value).toBe(encrypted);
  });
});
