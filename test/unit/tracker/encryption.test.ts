// Encrypted creations: the request's keys are checked and resolved per region before anything is
// recorded or sent; the unencrypted image CreateImage makes is copied in its own region with the
// key (ENCRYPTING), replaced by that copy and removed; copies use their region's key; nothing
// unencrypted is left behind when the encryption fails or the creation is cancelled.
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/services/errors.js';
import { FAKE_ACCOUNT_ID, kmsKeyArn } from '../../support/fake-ec2.js';
import { createUnitHarness, type UnitHarness } from '../../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const WEST_KEY = '0987dcba-09fe-87dc-65ba-ab0987654321';
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const keyArn = (region: string, id: string) => `arn:aws:kms:${region}:${FAKE_ACCOUNT_ID}:key/${id}`;

interface CopyArgs {
  sourceRegion: string;
  sourceImageId: string;
  name: string;
  clientToken: string;
  encrypted?: boolean;
  kmsKeyId?: string;
}

/** The field errors of a refused createAmi; fails the test when it was accepted. */
async function refused(input: Parameters<UnitHarness['create']>[0]): Promise<{ path: string; message: string }[]> {
  const err: unknown = await h.create(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).fieldErrors;
}

describe('encryption keys, checked before anything is recorded or sent', () => {
  it('reports every problem at once, with paths under input.encryption, and sends EC2 nothing', async () => {
    h = await createUnitHarness();
    const mark = h.fake.calls.length;
    const errors = await refused({
      name: 'bad keys',
      copyToRegions: ['us-west-2', 'eu-west-1'],
      encryption: {
        kmsKeyId: KEY,
        regionKmsKeyIds: [
          { region: 'us-west-2', kmsKeyId: 'not a key' },
          { region: 'ap-south-1', kmsKeyId: WEST_KEY },
          { region: 'us-east-1', kmsKeyId: WEST_KEY },
        ],
      },
    });
    expect(errors).toEqual([
      {
        path: 'input.encryption.regionKmsKeyIds.0.kmsKeyId',
        message:
          '"not a key" is not a KMS key EC2 accepts: a key id, a multi-Region key id (mrk-…), a key ARN, an alias name (alias/…) or an alias ARN',
      },
      { path: 'input.encryption.regionKmsKeyIds.1.region', message: 'ap-south-1 is not one of copyToRegions' },
      {
        path: 'input.encryption.regionKmsKeyIds.2.region',
        message: 'us-east-1 is the source region: its key is encryption.kmsKeyId',
      },
      {
        path: 'input.encryption.regionKmsKeyIds',
        message: `the key for eu-west-1 cannot be derived from kmsKeyId "${KEY}" (only a multi-Region key, mrk-…, has a replica there): add { region: "eu-west-1", kmsKeyId: "…" } with a key of eu-west-1`,
      },
    ]);
    // The instance was added to the fake before; no EC2 request was sent for the refused creation.
    expect(h.fake.callsSince(mark).map((x) => x.action)).not.toContain('CreateImage');
    expect(h.fake.callsSince(mark).filter((x) => x.action !== 'DescribeRegions')).toEqual([]);
    expect((await h.services.creations.list(h.viewer, {})).items).toEqual([]);
  });

  it('refuses a key ARN of another region, a duplicated region entry, and an alias ARN used elsewhere', async () => {
    h = await createUnitHarness();
    const errors = await refused({
      name: 'wrong regions',
      copyToRegions: ['us-west-2'],
      encryption: {
        kmsKeyId: keyArn('us-west-2', KEY),
        regionKmsKeyIds: [
          { region: 'us-west-2', kmsKeyId: `arn:aws:kms:eu-west-1:${FAKE_ACCOUNT_ID}:alias/team` },
          { region: 'us-west-2', kmsKeyId: WEST_KEY },
        ],
      },
    });
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [
        'input.encryption.kmsKeyId',
        `"${keyArn('us-west-2', KEY)}" is a key in us-west-2; it cannot encrypt the image in us-east-1`,
      ],
      [
        'input.encryption.regionKmsKeyIds.0.kmsKeyId',
        `"arn:aws:kms:eu-west-1:${FAKE_ACCOUNT_ID}:alias/team" is a key in eu-west-1; it cannot encrypt the image in us-west-2`,
      ],
      ['input.encryption.regionKmsKeyIds.1.region', 'us-west-2 is listed twice'],
    ]);
  });

  it('refuses the AWS managed key with shared accounts, naming the need for a customer managed key, and any public encrypted AMI', async () => {
    h = await createUnitHarness();
    const shared = await refused({
      name: 'managed shared',
      copyToRegions: ['us-west-2'],
      shareWithAccounts: ['210987654321'],
      encryption: { kmsKeyId: 'alias/aws/ebs' },
    });
    expect(shared).toEqual([
      {
        path: 'input.encryption.kmsKeyId',
        message:
          'sharing needs a customer managed KMS key: EC2 cannot share images encrypted with the AWS managed key (alias/aws/ebs), which us-east-1, us-west-2 would use; name a key of your own',
      },
    ]);
    const copyManaged = await refused({
      name: 'copy managed',
      copyToRegions: ['us-west-2'],
      shareWithAccounts: ['210987654321'],
      encryption: { kmsKeyId: KEY, regionKmsKeyIds: [{ region: 'us-west-2', kmsKeyId: 'alias/aws/ebs' }] },
    });
    expect(copyManaged.map((e) => e.path)).toEqual(['input.encryption.regionKmsKeyIds']);
    expect(copyManaged[0]!.message).toContain('which us-west-2 would use');
    const pub = await refused({ name: 'public encrypted', public: true, encryption: { kmsKeyId: KEY } });
    expect(pub).toEqual([
      {
        path: 'input.public',
        message: 'EC2 does not allow public encrypted AMIs; share the AMI with accounts instead (with a customer managed key)',
      },
    ]);
  });

  it('resolves each copy region: its own entry, the managed key, or the multi-Region key rewritten to the region', async () => {
    h = await createUnitHarness();
    const mrk = await h.create({
      name: 'multi-region',
      copyToRegions: ['us-west-2', 'eu-west-1'],
      encryption: { kmsKeyId: keyArn('us-east-1', MRK), regionKmsKeyIds: [{ region: 'eu-west-1', kmsKeyId: 'alias/eu' }] },
    });
    expect(mrk.regionKmsKeyIds).toEqual({ 'us-west-2': keyArn('us-west-2', MRK), 'eu-west-1': 'alias/eu' });
    const managed = await h.create({ name: 'managed', copyToRegions: ['us-west-2'], encryption: {} });
    expect(managed).toMatchObject({ encrypt: true, kmsKeyId: null, regionKmsKeyIds: { 'us-west-2': 'alias/aws/ebs' } });
  });
});

describe('the ENCRYPTING stage', () => {
  it('copies the image encrypted in its own region, removes the unencrypted one, copies with each region key, and completes with the encrypted AMI', async () => {
    h = await createUnitHarness();
    const c = await h.create(
      {
        name: 'encrypted flow',
        copyToRegions: ['us-west-2'],
        encryption: { kmsKeyId: KEY, regionKmsKeyIds: [{ region: 'us-west-2', kmsKeyId: WEST_KEY }] },
      },
      { volumesGiB: [10] },
    );
    const u = c.amiId!;
    expect(h.fake.image(u).name).toBe(`prism-unencrypted-${c.id}`);
    const uSnapshots = h.fake.image(u).snapshotIds;
    h.fake.complete(u);
    const first = await h.tick();
    const copyCalls = first.calls.filter((x) => x.action === 'CopyImage');
    expect(copyCalls.map((x) => x.region)).toEqual(['us-east-1']);
    expect(copyCalls[0]!.args).toMatchObject({
      sourceRegion: 'us-east-1',
      sourceImageId: u,
      name: 'encrypted flow',
      encrypted: true,
      kmsKeyId: KEY,
    } satisfies Partial<CopyArgs>);
    const encrypting = await h.status(c.id);
    const e = encrypting.amiId!;
    expect(e).not.toBe(u);
    expect(encrypting).toMatchObject({
      stage: 'ENCRYPTING',
      unencryptedAmiId: u,
      unencryptedSnapshotIds: uSnapshots,
      message: `Encrypting the image with ${KEY} - 0%`,
      progress: 33,
    });

    h.fake.advance(e, 40);
    h.clock.advance(1000);
    await h.tick();
    // Source 10 of 30 GiB-units done, the encryption 4 more.
    expect(await h.status(c.id)).toMatchObject({
      stage: 'ENCRYPTING',
      progress: 46,
      message: `Encrypting the image with ${KEY} - 40%`,
    });
    expect(h.fake.image(u).state).toBe('available');

    h.fake.complete(e);
    h.clock.advance(1000);
    const second = await h.tick();
    expect(h.fake.image(u).state).toBe('deregistered');
    for (const id of uSnapshots) expect(h.fake.snapshot(id)).toBeUndefined();
    expect(await h.ami(u)).toMatchObject({ state: 'DEREGISTERED', deregisteredReason: `Replaced by its encrypted copy ${e}` });
    expect(await h.ami(e)).toMatchObject({ state: 'AVAILABLE', encrypted: true, kmsKeyId: kmsKeyArn('us-east-1', KEY) });
    const copy = second.calls.filter((x) => x.action === 'CopyImage');
    expect(copy.map((x) => [x.region, (x.args as CopyArgs).sourceImageId, (x.args as CopyArgs).kmsKeyId])).toEqual([
      ['us-west-2', e, WEST_KEY],
    ]);
    const copying = await h.status(c.id);
    expect(copying).toMatchObject({ stage: 'COPYING', amiId: e, progress: 66 });

    const westId = copying.copies[0]!.amiId!;
    h.fake.complete(westId);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'COMPLETED',
      amiId: e,
      progress: 100,
      message: `AMI ${e} is available in us-east-1 and us-west-2`,
    });
    expect(await h.ami(westId)).toMatchObject({ encrypted: true, kmsKeyId: kmsKeyArn('us-west-2', WEST_KEY) });
  });

  it('adopts the encrypted copy after a lost CopyImage answer and a restart, sending no second CopyImage', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'adopt encrypted', encryption: {} }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    h.fake.failNext('CopyImage', { afterApplying: true, error: 'network' });
    await h.tick();
    const lost = await h.status(c.id);
    expect(lost).toMatchObject({ stage: 'ENCRYPTING', amiId: c.amiId, unencryptedAmiId: c.amiId });
    const [made] = h.fake.images('us-east-1').filter((i) => i.id !== c.amiId);
    expect(made).toMatchObject({ encrypted: true });
    expect(h.fake.snapshot(made!.snapshotIds[0]!)?.kmsKeyId).toBe(kmsKeyArn('us-east-1', undefined));

    h.restartTracker();
    h.clock.advance(1000);
    const after = await h.tick();
    expect(after.calls.filter((x) => x.action === 'CopyImage')).toEqual([]);
    expect((await h.status(c.id)).amiId).toBe(made!.id);
    h.fake.complete(made!.id);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ status: 'COMPLETED', amiId: made!.id });
    expect(h.fake.callsOf('CopyImage')).toHaveLength(1);
    expect(h.fake.image(c.amiId!).state).toBe('deregistered');
  });

  it('adopts an unconfirmed CreateImage of an encrypted creation by its intermediate name when the tag is missing', async () => {
    h = await createUnitHarness();
    h.fake.failNext('CreateImage', { error: { code: 'InternalError', status: 500 }, afterApplying: true });
    const c = await h.create({ name: 'resume encrypted', encryption: {} }, { volumesGiB: [8] });
    expect(c.amiId).toBeNull();
    const [image] = h.fake.images('us-east-1');
    expect(image!.name).toBe(`prism-unencrypted-${c.id}`);
    // The tag lags behind the image: only the name can find it.
    await h.fake.deleteTags('us-east-1', [image!.id], ['prism:creation-id']);
    h.clock.advance(1000);
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({ stage: 'SNAPSHOTTING', amiId: image!.id });
    expect(h.fake.callsOf('CreateImage')).toHaveLength(1);
  });

  it("fails with EC2's reason when the encrypted copy fails, removing the unencrypted image too", async () => {
    h = await createUnitHarness();
    const c = await h.create(
      { name: 'encryption fails', copyToRegions: ['us-west-2'], encryption: { kmsKeyId: MRK } },
      { volumesGiB: [8] },
    );
    const u = c.amiId!;
    const uSnapshots = h.fake.image(u).snapshotIds;
    h.fake.complete(u);
    await h.tick();
    const e = (await h.status(c.id)).amiId!;
    h.fake.fail(e, 'Client.KmsKeyNotAccessible: the key is disabled');
    h.clock.advance(1000);
    await h.tick();
    const failed = await h.status(c.id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      stage: 'ENCRYPTING',
      failureReason: `Encrypting the image failed: Client.KmsKeyNotAccessible: the key is disabled; the unencrypted image ${u} and its snapshots were removed, so nothing unencrypted is left behind`,
    });
    expect(failed.copies[0]).toMatchObject({ status: 'FAILED', message: 'Not started: encrypting the image failed' });
    expect(h.fake.image(u).state).toBe('deregistered');
    for (const id of uSnapshots) expect(h.fake.snapshot(id)).toBeUndefined();
    expect(h.fake.callsOf('CopyImage', 'us-west-2')).toEqual([]);
  });

  it('fails at once when EC2 rejects the encrypted CopyImage, removing the unencrypted image; a throttled one waits', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'copy rejected', encryption: { kmsKeyId: KEY } }, { volumesGiB: [8] });
    const u = c.amiId!;
    h.fake.complete(u);
    h.fake.failNext('CopyImage', { error: 'throttle' });
    await h.tick();
    expect(await h.status(c.id)).toMatchObject({
      status: 'IN_PROGRESS',
      stage: 'ENCRYPTING',
      amiId: u,
      message: 'Waiting to encrypt the image (EC2 is busy)',
    });
    h.fake.failNext('CopyImage', { error: { code: 'InvalidParameterValue', message: 'The key is not usable' } });
    h.clock.advance(60_000);
    await h.tick();
    const failed = await h.status(c.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(
      /^Encrypting the image failed: .*The key is not usable.*nothing unencrypted is left behind$/,
    );
    expect(h.fake.image(u).state).toBe('deregistered');
    expect(h.fake.images('us-east-1')).toHaveLength(1);
  });

  it('removes both the unencrypted image and its encrypted copy when cancelled while encrypting', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'cancel encrypting', encryption: { kmsKeyId: KEY } }, { volumesGiB: [8] });
    const u = c.amiId!;
    const uSnapshots = h.fake.image(u).snapshotIds;
    h.fake.complete(u);
    await h.tick();
    const e = (await h.status(c.id)).amiId!;
    expect(e).not.toBe(u);
    h.fake.advance(e, 30);
    const eSnapshots = h.fake.image(e).snapshotIds;

    const cancelled = await h.services.creations.cancel(h.viewer, c.id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.completedAt).not.toBeNull();
    for (const id of [u, e]) expect(h.fake.image(id).state).toBe('deregistered');
    for (const id of [...uSnapshots, ...eSnapshots]) expect(h.fake.snapshot(id)).toBeUndefined();
    expect(cancelled.message).toContain(u);
    expect(cancelled.message).toContain(e);
  });

  it('refuses to publish an encrypted AMI before asking EC2, naming sharing with a customer managed key', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'publish encrypted', encryption: { kmsKeyId: KEY } }, { volumesGiB: [8] });
    h.fake.complete(c.amiId!);
    await h.tick();
    const e = (await h.status(c.id)).amiId!;
    h.fake.complete(e);
    h.clock.advance(1000);
    await h.tick();
    const mark = h.fake.calls.length;
    const err: unknown = await h.services.amis.publish(h.viewer, { amiId: e, public: true }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldErrors).toEqual([
      {
        path: 'input.public',
        message: `AMI ${e} is encrypted, and EC2 does not allow public encrypted AMIs. Share it with accounts instead: that works when it is encrypted with a customer managed key.`,
      },
    ]);
    expect(h.fake.callsSince(mark)).toEqual([]);
    expect(h.fake.launchPermissions(e).public).toBe(false);
  });
});
