// Parity: CopyImage to another region (tagged with an explicit CreateTags, which both model) and
// launch permissions (ModifyImageAttribute → DescribeImageAttribute, Public), the same on the
// simulator and on moto.
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  ModifyImageAttributeCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, expectEc2Error, launch, snapshotIdsOf, tagMap, UNKNOWN, waitForImage, type Backend } from './backends.js';

const COLLEAGUE = '111122223333';
const OTHER_COLLEAGUE = '444455556666';

describe.each(BACKENDS)('copies and launch permissions on $name', ({ start }) => {
  let b: Backend;
  let source: Image;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });
  beforeEach(async () => {
    await b.reset();
    const box = await launch(b, 'source-box');
    const out = await b.ec2().send(
      new CreateImageCommand({
        InstanceId: box.InstanceId,
        Name: 'source image',
        Description: 'captured in us-east-1',
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'team', Value: 'bio' }] }],
      }),
    );
    source = await waitForImage(b, out.ImageId ?? '');
  });

  const east = () => b.ec2('us-east-1');
  const west = () => b.ec2('us-west-2');
  const sourceId = () => source.ImageId ?? '';

  describe('CopyImage', () => {
    it('makes a new image in the destination region, with its own snapshots, that becomes available there only', async () => {
      const out = await west().send(
        new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: sourceId(), Name: 'west copy' }),
      );
      const copyId = out.ImageId ?? '';
      expect(copyId).toMatch(/^ami-[0-9a-f]+$/);
      expect(copyId).not.toBe(sourceId());

      const copy = await waitForImage(b, copyId, 'us-west-2');
      expect(copy).toMatchObject({
        Name: 'west copy',
        State: 'available',
        OwnerId: b.accountId,
        Description: 'captured in us-east-1',
      });
      const copySnapshots = snapshotIdsOf(copy);
      expect(copySnapshots).toHaveLength(snapshotIdsOf(source).length);
      for (const id of copySnapshots) expect(snapshotIdsOf(source)).not.toContain(id);

      const westSnaps = await west().send(
        new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: copySnapshots }] }),
      );
      expect(westSnaps.Snapshots?.map((s) => s.SnapshotId)).toEqual(copySnapshots);
      const eastSnaps = await east().send(
        new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: copySnapshots }] }),
      );
      expect(eastSnaps.Snapshots).toEqual([]);

      // The copy is listed in us-west-2 only; the source stays where it was.
      const westOwn = await west().send(new DescribeImagesCommand({ Owners: ['self'] }));
      expect(westOwn.Images?.map((i) => i.ImageId)).toEqual([copyId]);
      const eastOwn = await east().send(new DescribeImagesCommand({ Owners: ['self'] }));
      expect(eastOwn.Images?.map((i) => i.ImageId)).toEqual([sourceId()]);
      await expectEc2Error(east().send(new DescribeImagesCommand({ ImageIds: [copyId] })), 'InvalidAMIID.NotFound');
    });

    it("tags the copy with an explicit CreateTags in the destination region, leaving the source's tags as they were", async () => {
      const out = await west().send(
        new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: sourceId(), Name: 'tagged copy' }),
      );
      const copy = await waitForImage(b, out.ImageId ?? '', 'us-west-2');
      await west().send(
        new CreateTagsCommand({
          Resources: [copy.ImageId ?? '', ...snapshotIdsOf(copy)],
          Tags: [
            { Key: 'team', Value: 'bio' },
            { Key: 'prism:source-region', Value: 'us-east-1' },
          ],
        }),
      );

      const tagged = await west().send(new DescribeImagesCommand({ ImageIds: [copy.ImageId ?? ''] }));
      expect(tagMap(tagged.Images?.[0]?.Tags)).toEqual({ team: 'bio', 'prism:source-region': 'us-east-1' });
      const snaps = await west().send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(copy) }));
      for (const s of snaps.Snapshots ?? []) expect(tagMap(s.Tags)).toEqual({ team: 'bio', 'prism:source-region': 'us-east-1' });
      const byTag = await west().send(
        new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:prism:source-region', Values: ['us-east-1'] }] }),
      );
      expect(byTag.Images?.map((i) => i.ImageId)).toEqual([copy.ImageId]);

      const src = await east().send(new DescribeImagesCommand({ ImageIds: [sourceId()] }));
      expect(tagMap(src.Images?.[0]?.Tags)).toEqual({ team: 'bio' });
    });

    it('answers InvalidAMIID.NotFound for a source image that does not exist in the source region', async () => {
      await expectEc2Error(
        west().send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: UNKNOWN.image, Name: 'ghost copy' })),
        'InvalidAMIID.NotFound',
      );
      // The source exists, but in us-east-1, not in the us-west-2 named as its region.
      await expectEc2Error(
        east().send(new CopyImageCommand({ SourceRegion: 'us-west-2', SourceImageId: sourceId(), Name: 'wrong region copy' })),
        'InvalidAMIID.NotFound',
      );
    });
  });

  describe('launch permissions', () => {
    const permissions = async () => {
      const out = await east().send(new DescribeImageAttributeCommand({ ImageId: sourceId(), Attribute: 'launchPermission' }));
      expect(out.ImageId).toBe(sourceId());
      return out.LaunchPermissions ?? [];
    };
    const isPublic = async () => (await east().send(new DescribeImagesCommand({ ImageIds: [sourceId()] }))).Images?.[0]?.Public;

    it('starts private, with no launch permissions', async () => {
      expect(await permissions()).toEqual([]);
      expect(await isPublic()).toBe(false);
    });

    it('makes the image public with Group all, reported by the attribute, Public and the is-public filter, and private again with Remove', async () => {
      await east().send(new ModifyImageAttributeCommand({ ImageId: sourceId(), LaunchPermission: { Add: [{ Group: 'all' }] } }));
      expect(await permissions()).toEqual([{ Group: 'all' }]);
      expect(await isPublic()).toBe(true);
      const publicOwn = await east().send(
        new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'is-public', Values: ['true'] }] }),
      );
      expect(publicOwn.Images?.map((i) => i.ImageId)).toEqual([sourceId()]);

      await east().send(
        new ModifyImageAttributeCommand({ ImageId: sourceId(), LaunchPermission: { Remove: [{ Group: 'all' }] } }),
      );
      expect(await permissions()).toEqual([]);
      expect(await isPublic()).toBe(false);
    });

    it('shares with accounts by UserId, keeping the image private, and stops sharing with Remove', async () => {
      await east().send(
        new ModifyImageAttributeCommand({
          ImageId: sourceId(),
          LaunchPermission: { Add: [{ UserId: COLLEAGUE }, { UserId: OTHER_COLLEAGUE }] },
        }),
      );
      expect(await permissions()).toEqual(expect.arrayContaining([{ UserId: COLLEAGUE }, { UserId: OTHER_COLLEAGUE }]));
      expect(await permissions()).toHaveLength(2);
      expect(await isPublic()).toBe(false);
      const shared = await east().send(new DescribeImagesCommand({ ExecutableUsers: [COLLEAGUE] }));
      expect(shared.Images?.map((i) => i.ImageId)).toEqual([sourceId()]);

      await east().send(
        new ModifyImageAttributeCommand({ ImageId: sourceId(), LaunchPermission: { Remove: [{ UserId: COLLEAGUE }] } }),
      );
      expect(await permissions()).toEqual([{ UserId: OTHER_COLLEAGUE }]);
      const unshared = await east().send(new DescribeImagesCommand({ ExecutableUsers: [COLLEAGUE] }));
      expect(unshared.Images).toEqual([]);
    });

    it('accepts the older Attribute + OperationType + UserIds form', async () => {
      await east().send(
        new ModifyImageAttributeCommand({
          ImageId: sourceId(),
          Attribute: 'launchPermission',
          OperationType: 'add',
          UserIds: [COLLEAGUE],
        }),
      );
      expect(await permissions()).toEqual([{ UserId: COLLEAGUE }]);
    });

    it('lists Group all and user ids together when both are granted', async () => {
      await east().send(
        new ModifyImageAttributeCommand({
          ImageId: sourceId(),
          LaunchPermission: { Add: [{ Group: 'all' }, { UserId: COLLEAGUE }] },
        }),
      );
      expect(await permissions()).toEqual(expect.arrayContaining([{ Group: 'all' }, { UserId: COLLEAGUE }]));
      expect(await permissions()).toHaveLength(2);
      expect(await isPublic()).toBe(true);
    });

    it('rejects an account id that is not 12 digits with InvalidAMIAttributeItemValue and changes nothing', async () => {
      await expectEc2Error(
        east().send(new ModifyImageAttributeCommand({ ImageId: sourceId(), LaunchPermission: { Add: [{ UserId: '12345' }] } })),
        'InvalidAMIAttributeItemValue',
      );
      expect(await permissions()).toEqual([]);
    });

    it('answers InvalidAMIID.NotFound for an unknown image', async () => {
      await expectEc2Error(
        east().send(new ModifyImageAttributeCommand({ ImageId: UNKNOWN.image, LaunchPermission: { Add: [{ Group: 'all' }] } })),
        'InvalidAMIID.NotFound',
      );
    });
  });
});
