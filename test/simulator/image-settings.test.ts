import {
  CopyImageCommand,
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { awsCli, expectEc2Error, startHarness, START, type Harness } from './helpers.js';

const ACCOUNT = '123456789012';
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

let h: Harness;
let east: EC2Client;
let west: EC2Client;
let source: string;

beforeEach(async () => {
  h = await startHarness({ speedGiBPerSecond: 1 });
  east = h.ec2('us-east-1');
  west = h.ec2('us-west-2');
  const out = await east.send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'settings-src' }));
  source = out.ImageId ?? '';
  h.advance(60);
});
afterEach(async () => {
  await h.stop();
});

const image = async (ec2: EC2Client, id: string) => (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images?.[0];

async function copyTo(ec2: EC2Client, params: Partial<ConstructorParameters<typeof CopyImageCommand>[0]>): Promise<string> {
  const out = await ec2.send(
    new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: `copy-${Math.random()}`, ...params }),
  );
  return out.ImageId ?? '';
}

async function snapshotsOf(ec2: EC2Client, imageId: string) {
  const ids = (await image(ec2, imageId))?.BlockDeviceMappings?.map((m) => m.Ebs?.SnapshotId ?? '') ?? [];
  return (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))).Snapshots ?? [];
}

describe('CopyImage with Encrypted and KmsKeyId', () => {
  it('encrypts the copy with the named key, reported as the key ARN of the destination region', async () => {
    const copyId = await copyTo(west, { Encrypted: true, KmsKeyId: KEY });
    const snaps = await snapshotsOf(west, copyId);
    expect(snaps.length).toBeGreaterThan(0);
    for (const s of snaps) expect(s).toMatchObject({ Encrypted: true, KmsKeyId: `arn:aws:kms:us-west-2:${ACCOUNT}:key/${KEY}` });
    expect((await image(west, copyId))?.BlockDeviceMappings?.every((m) => m.Ebs?.Encrypted === true)).toBe(true);
    // The source stays unencrypted.
    for (const s of await snapshotsOf(east, source)) expect(s).toMatchObject({ Encrypted: false });
  });

  it('resolves an alias and an alias ARN to the same key ARN, and Encrypted alone to the AWS managed key', async () => {
    const byAlias = await copyTo(east, { Encrypted: true, KmsKeyId: 'alias/images' });
    const byAliasArn = await copyTo(east, { Encrypted: true, KmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/images` });
    const managed = await copyTo(east, { Encrypted: true });
    const keyOf = async (id: string) => (await snapshotsOf(east, id))[0]?.KmsKeyId;
    const aliasKey = await keyOf(byAlias);
    expect(aliasKey).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${ACCOUNT}:key/[0-9a-f-]{36}$`));
    expect(await keyOf(byAliasArn)).toBe(aliasKey);
    const managedKey = await keyOf(managed);
    expect(managedKey).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    expect(managedKey).not.toBe(aliasKey);
  });

  it('accepts a multi-Region key id and a key ARN of the destination region', async () => {
    const mrk = 'mrk-1234abcd12ab34cd56ef1234567890ab';
    const copyId = await copyTo(west, { Encrypted: true, KmsKeyId: mrk });
    expect((await snapshotsOf(west, copyId))[0]?.KmsKeyId).toBe(`arn:aws:kms:us-west-2:${ACCOUNT}:key/${mrk}`);
    const arn = `arn:aws:kms:us-west-2:${ACCOUNT}:key/${KEY}`;
    expect((await snapshotsOf(west, await copyTo(west, { Encrypted: true, KmsKeyId: arn })))[0]?.KmsKeyId).toBe(arn);
  });

  it('refuses KmsKeyId without Encrypted, a malformed key and a key ARN of another region', async () => {
    await expectEc2Error(copyTo(west, { KmsKeyId: KEY }), 'InvalidParameterCombination');
    await expectEc2Error(copyTo(west, { Encrypted: true, KmsKeyId: 'not a key' }), 'InvalidParameterValue');
    await expectEc2Error(
      copyTo(west, { Encrypted: true, KmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY}` }),
      'InvalidParameterValue',
    );
  });

  it('keeps a copy of an encrypted image encrypted even without Encrypted', async () => {
    const encrypted = await copyTo(east, { Encrypted: true, KmsKeyId: KEY });
    h.advance(60);
    const again = await west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: encrypted, Name: 'again' }));
    expect((await snapshotsOf(west, again.ImageId ?? ''))[0]).toMatchObject({ Encrypted: true });
  });

  it('refuses to make an encrypted image public, but shares it with an account', async () => {
    const encrypted = await copyTo(east, { Encrypted: true, KmsKeyId: KEY });
    h.advance(60);
    const publish = east.send(
      new ModifyImageAttributeCommand({ ImageId: encrypted, LaunchPermission: { Add: [{ Group: 'all' }] } }),
    );
    await expectEc2Error(publish, 'UnsupportedOperation');
    expect((await image(east, encrypted))?.Public).toBe(false);
    await east.send(
      new ModifyImageAttributeCommand({ ImageId: encrypted, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }),
    );
  });

  it('refuses to share an image encrypted with the AWS managed key, even with one account', async () => {
    const managed = await copyTo(east, { Encrypted: true });
    h.advance(60);
    const share = east.send(
      new ModifyImageAttributeCommand({ ImageId: managed, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }),
    );
    await expectEc2Error(share, 'InvalidParameter');
    const attr = await east.send(new DescribeImageAttributeCommand({ ImageId: managed, Attribute: 'launchPermission' }));
    expect(attr.LaunchPermissions).toEqual([]);
  });

  it('answers a repeated ClientToken with the same encrypted copy, and a token reused with another key with IdempotentParameterMismatch', async () => {
    const first = await copyTo(west, { Name: 'enc-token', ClientToken: 't-1', Encrypted: true, KmsKeyId: KEY });
    expect(await copyTo(west, { Name: 'enc-token', ClientToken: 't-1', Encrypted: true, KmsKeyId: KEY })).toBe(first);
    const otherKey = copyTo(west, { Name: 'enc-token', ClientToken: 't-1', Encrypted: true, KmsKeyId: 'alias/other' });
    await expectEc2Error(otherKey, 'IdempotentParameterMismatch');
  });

  it('lists encrypted snapshots through the encrypted filter', async () => {
    const encrypted = await copyTo(east, { Encrypted: true, KmsKeyId: KEY });
    const listed = await east.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'encrypted', Values: ['true'] }] }),
    );
    const expected = (await snapshotsOf(east, encrypted)).map((s) => s.SnapshotId);
    expect(listed.Snapshots?.map((s) => s.SnapshotId).sort()).toEqual(expected.sort());
  });
});

describe('image deprecation', () => {
  it('sets DeprecationTime rounded to the minute and clears it on DisableImageDeprecation', async () => {
    await east.send(new EnableImageDeprecationCommand({ ImageId: source, DeprecateAt: new Date('2027-03-01T10:20:40Z') }));
    expect((await image(east, source))?.DeprecationTime).toBe('2027-03-01T10:21:00.000Z');
    await east.send(new DisableImageDeprecationCommand({ ImageId: source }));
    expect((await image(east, source))?.DeprecationTime).toBeUndefined();
  });

  it('refuses a time in the past and one more than ten years ahead', async () => {
    const past = east.send(new EnableImageDeprecationCommand({ ImageId: source, DeprecateAt: new Date(START - 60_000) }));
    await expectEc2Error(past, 'InvalidParameterValue');
    const far = new Date(START + 11 * 365 * 24 * 3600 * 1000);
    await expectEc2Error(
      east.send(new EnableImageDeprecationCommand({ ImageId: source, DeprecateAt: far })),
      'InvalidParameterValue',
    );
    expect((await image(east, source))?.DeprecationTime).toBeUndefined();
  });

  it('keeps a deprecated image in its owner’s listing', async () => {
    await east.send(new EnableImageDeprecationCommand({ ImageId: source, DeprecateAt: new Date(h.now() + 120_000) }));
    h.advance(300);
    const own = await east.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(own.Images?.map((i) => i.ImageId)).toContain(source);
  });
});

describe('deregistration protection', () => {
  it('refuses DeregisterImage while enabled, naming the protection, and allows it once disabled', async () => {
    await east.send(new EnableImageDeregistrationProtectionCommand({ ImageId: source }));
    expect((await image(east, source))?.DeregistrationProtection).toBe('enabled');
    const attr = await east.send(new DescribeImageAttributeCommand({ ImageId: source, Attribute: 'deregistrationProtection' }));
    expect(attr.DeregistrationProtection?.Value).toBe('enabled');
    const err = await expectEc2Error(east.send(new DeregisterImageCommand({ ImageId: source })), 'OperationNotPermitted');
    expect(err.message).toContain('deregistration protection');
    await east.send(new DisableImageDeregistrationProtectionCommand({ ImageId: source }));
    expect((await image(east, source))?.DeregistrationProtection).toBe('disabled');
    await east.send(new DeregisterImageCommand({ ImageId: source }));
  });

  it('with a cooldown, stays protected for 24 hours after being disabled', async () => {
    await east.send(new EnableImageDeregistrationProtectionCommand({ ImageId: source, WithCooldown: true }));
    expect((await image(east, source))?.DeregistrationProtection).toBe('enabled-with-cooldown');
    await east.send(new DisableImageDeregistrationProtectionCommand({ ImageId: source }));
    const until = new Date(h.now() + 24 * 3600 * 1000).toISOString();
    expect((await image(east, source))?.DeregistrationProtection).toBe(`disabled-until-${until}`);
    await expectEc2Error(east.send(new DeregisterImageCommand({ ImageId: source })), 'OperationNotPermitted');
    h.advance(24 * 3600);
    expect((await image(east, source))?.DeregistrationProtection).toBe('disabled');
    await east.send(new DeregisterImageCommand({ ImageId: source }));
  });
});

describe('ImdsSupport', () => {
  it('is unset on a new image and v2.0 after ModifyImageAttribute, in DescribeImages and the attribute', async () => {
    expect((await image(east, source))?.ImdsSupport).toBeUndefined();
    await east.send(new ModifyImageAttributeCommand({ ImageId: source, ImdsSupport: { Value: 'v2.0' } }));
    expect((await image(east, source))?.ImdsSupport).toBe('v2.0');
    const attr = await east.send(new DescribeImageAttributeCommand({ ImageId: source, Attribute: 'imdsSupport' }));
    expect(attr.ImdsSupport?.Value).toBe('v2.0');
  });

  it('accepts only v2.0', async () => {
    const bad = east.send(new ModifyImageAttributeCommand({ ImageId: source, ImdsSupport: { Value: 'v1.0' } }));
    await expectEc2Error(bad, 'InvalidParameterValue');
  });
});

describe('the AWS CLI', () => {
  it('shows DeprecationTime, DeregistrationProtection and ImdsSupport in describe-images', async () => {
    await east.send(new EnableImageDeprecationCommand({ ImageId: source, DeprecateAt: new Date('2027-01-01T00:00:00Z') }));
    await east.send(new EnableImageDeregistrationProtectionCommand({ ImageId: source }));
    await east.send(new ModifyImageAttributeCommand({ ImageId: source, ImdsSupport: { Value: 'v2.0' } }));
    const out = await awsCli(h.sim, 'us-east-1', ['describe-images', '--image-ids', source]);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      Images: [
        {
          ImageId: source,
          DeprecationTime: '2027-01-01T00:00:00.000Z',
          DeregistrationProtection: 'enabled',
          ImdsSupport: 'v2.0',
        },
      ],
    });
  });

  it('shows Encrypted and KmsKeyId in describe-snapshots', async () => {
    const copyId = await copyTo(west, { Encrypted: true, KmsKeyId: KEY });
    const snapshotId = (await snapshotsOf(west, copyId))[0]?.SnapshotId ?? '';
    const out = await awsCli(h.sim, 'us-west-2', ['describe-snapshots', '--snapshot-ids', snapshotId]);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      Snapshots: [{ SnapshotId: snapshotId, Encrypted: true, KmsKeyId: `arn:aws:kms:us-west-2:${ACCOUNT}:key/${KEY}` }],
    });
  });
});
