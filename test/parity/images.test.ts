// Parity: CreateImage → DescribeImages/DescribeSnapshots, tags, DeregisterImage and DeleteSnapshot,
// and their error codes, the same on the simulator and on moto, as the real SDK parses them.
import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, expectEc2Error, launch, snapshotIdsOf, tagMap, UNKNOWN, waitForImage, type Backend } from './backends.js';

describe.each(BACKENDS)('images and snapshots on $name', ({ start }) => {
  let b: Backend;
  let box: Instance;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });
  beforeEach(async () => {
    await b.reset();
    box = await launch(b, 'capture-me');
  });

  const ec2 = () => b.ec2();

  /** CreateImage of `box`, waited on until available. */
  async function capture(name: string, extra: { Description?: string; tags?: Record<string, string> } = {}): Promise<Image> {
    const out = await ec2().send(
      new CreateImageCommand({
        InstanceId: box.InstanceId,
        Name: name,
        Description: extra.Description,
        ...(extra.tags && {
          TagSpecifications: [
            { ResourceType: 'image', Tags: Object.entries(extra.tags).map(([Key, Value]) => ({ Key, Value })) },
          ],
        }),
      }),
    );
    expect(out.ImageId).toMatch(/^ami-[0-9a-f]+$/);
    return waitForImage(b, out.ImageId ?? '');
  }

  const ownImageIds = async (filters: Record<string, string[]> = {}) => {
    const out = await ec2().send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: Object.entries(filters).map(([Name, Values]) => ({ Name, Values })),
      }),
    );
    return (out.Images ?? []).map((i) => i.ImageId).sort();
  };

  describe('CreateImage → DescribeImages', () => {
    it('lists the new image under Owners self, available, private, with its name, description, tags and source instance', async () => {
      const image = await capture('bio env (v1)', { Description: 'conda + drivers', tags: { team: 'genomics' } });
      const listed = await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
      expect(listed.Images?.map((i) => i.ImageId)).toEqual([image.ImageId]);
      expect(listed.Images?.[0]).toMatchObject({
        ImageId: image.ImageId,
        Name: 'bio env (v1)',
        Description: 'conda + drivers',
        State: 'available',
        OwnerId: b.accountId,
        Public: false,
        ImageType: 'machine',
        Architecture: 'x86_64',
        SourceInstanceId: box.InstanceId,
      });
      expect(tagMap(listed.Images?.[0]?.Tags)).toEqual({ team: 'genomics' });
      expect(Number.isNaN(Date.parse(listed.Images?.[0]?.CreationDate ?? ''))).toBe(false);
    });

    it("maps the instance's root device to a snapshot in BlockDeviceMappings", async () => {
      const image = await capture('mapped image');
      expect(image.RootDeviceName).toBe(box.RootDeviceName);
      expect(image.BlockDeviceMappings).toHaveLength(1);
      const mapping = image.BlockDeviceMappings?.[0];
      expect(mapping?.DeviceName).toBe(box.RootDeviceName);
      expect(mapping?.Ebs?.SnapshotId).toMatch(/^snap-[0-9a-f]+$/);
      expect(mapping?.Ebs?.VolumeSize).toBeGreaterThanOrEqual(8);
    });

    it('filters own images by name, exactly and with wildcards', async () => {
      const alpha = await capture('alpha build');
      const beta = await capture('beta build');
      expect(await ownImageIds({ name: ['alpha build'] })).toEqual([alpha.ImageId]);
      expect(await ownImageIds({ name: ['*build'] })).toEqual([alpha.ImageId, beta.ImageId].sort());
      expect(await ownImageIds({ name: ['?eta build'] })).toEqual([beta.ImageId]);
      expect(await ownImageIds({ name: ['gamma build'] })).toEqual([]);
    });

    it('filters by image-id, leaving out ids that do not exist instead of failing', async () => {
      const image = await capture('filtered image');
      const out = await ec2().send(
        new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [image.ImageId ?? '', UNKNOWN.image] }] }),
      );
      expect(out.Images?.map((i) => i.ImageId)).toEqual([image.ImageId]);
      const none = await ec2().send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [UNKNOWN.image] }] }));
      expect(none.Images).toEqual([]);
    });

    it('filters by tag:key and tag-key', async () => {
      const tagged = await capture('tagged image', { tags: { stage: 'prod' } });
      await capture('untagged image');
      expect(await ownImageIds({ 'tag:stage': ['prod'] })).toEqual([tagged.ImageId]);
      expect(await ownImageIds({ 'tag:stage': ['dev'] })).toEqual([]);
      expect(await ownImageIds({ 'tag-key': ['stage'] })).toEqual([tagged.ImageId]);
    });

    it('fails DescribeImages with InvalidAMIID.NotFound when ImageIds names an unknown image', async () => {
      await capture('known image');
      await expectEc2Error(ec2().send(new DescribeImagesCommand({ ImageIds: [UNKNOWN.image] })), 'InvalidAMIID.NotFound');
    });

    it('answers InvalidAMIID.Malformed for an ImageIds entry that is not an image id', async () => {
      await expectEc2Error(ec2().send(new DescribeImagesCommand({ ImageIds: ['not-an-ami'] })), 'InvalidAMIID.Malformed');
    });
  });

  describe('snapshots of an image', () => {
    it('DescribeSnapshots lists each snapshot of the image as completed, sized like the mapping, described as CreateImage does', async () => {
      const image = await capture('snapshotted image');
      const [snapshotId] = snapshotIdsOf(image);
      const out = await ec2().send(
        new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [snapshotId ?? '', UNKNOWN.snapshot] }] }),
      );
      expect(out.Snapshots).toHaveLength(1);
      expect(out.Snapshots?.[0]).toMatchObject({
        SnapshotId: snapshotId,
        State: 'completed',
        Progress: '100%',
        OwnerId: b.accountId,
        VolumeSize: image.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize,
        Encrypted: false,
        Description: `Created by CreateImage(${box.InstanceId}) for ${image.ImageId}`,
      });
      expect(out.Snapshots?.[0]?.StartTime).toBeInstanceOf(Date);
    });

    it('lists own snapshots with OwnerIds self, one per image', async () => {
      const first = await capture('first image');
      const second = await capture('second image');
      const out = await ec2().send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
      expect(out.Snapshots?.map((s) => s.SnapshotId).sort()).toEqual([...snapshotIdsOf(first), ...snapshotIdsOf(second)].sort());
    });

    it('fails DescribeSnapshots with InvalidSnapshot.NotFound when SnapshotIds names an unknown snapshot', async () => {
      await expectEc2Error(
        ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [UNKNOWN.snapshot] })),
        'InvalidSnapshot.NotFound',
      );
    });
  });

  describe('CreateTags and DeleteTags', () => {
    it('tags an image and its snapshot in one call, overwrites a key, and deletes by key or by key and value', async () => {
      const image = await capture('tag target', { tags: { team: 'bio' } });
      const imageId = image.ImageId ?? '';
      const [snapshotId = ''] = snapshotIdsOf(image);
      const resources = [imageId, snapshotId];
      const tagsNow = async () => {
        const img = await ec2().send(new DescribeImagesCommand({ ImageIds: [imageId] }));
        const snap = await ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
        return { image: tagMap(img.Images?.[0]?.Tags), snapshot: tagMap(snap.Snapshots?.[0]?.Tags) };
      };

      await ec2().send(
        new CreateTagsCommand({
          Resources: resources,
          Tags: [
            { Key: 'prism:creation-id', Value: 'c-1' },
            { Key: 'stage', Value: 'dev' },
            { Key: 'owner', Value: 'ana' },
          ],
        }),
      );
      await ec2().send(new CreateTagsCommand({ Resources: resources, Tags: [{ Key: 'stage', Value: 'prod' }] }));
      expect(await tagsNow()).toEqual({
        image: { team: 'bio', 'prism:creation-id': 'c-1', stage: 'prod', owner: 'ana' },
        snapshot: { 'prism:creation-id': 'c-1', stage: 'prod', owner: 'ana' },
      });

      // By key alone: whatever the value. By key and value: only when the value matches.
      await ec2().send(new DeleteTagsCommand({ Resources: resources, Tags: [{ Key: 'owner' }, { Key: 'stage', Value: 'dev' }] }));
      expect(await tagsNow()).toEqual({
        image: { team: 'bio', 'prism:creation-id': 'c-1', stage: 'prod' },
        snapshot: { 'prism:creation-id': 'c-1', stage: 'prod' },
      });
      await ec2().send(new DeleteTagsCommand({ Resources: resources, Tags: [{ Key: 'stage', Value: 'prod' }] }));
      expect(await tagsNow()).toEqual({
        image: { team: 'bio', 'prism:creation-id': 'c-1' },
        snapshot: { 'prism:creation-id': 'c-1' },
      });

      const bySnapshotTag = await ec2().send(
        new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:prism:creation-id', Values: ['c-1'] }] }),
      );
      expect(bySnapshotTag.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
    });

    it('refuses to tag an unknown image with InvalidAMIID.NotFound and an unknown snapshot with InvalidSnapshot.NotFound', async () => {
      const tags = [{ Key: 'k', Value: 'v' }];
      await expectEc2Error(
        ec2().send(new CreateTagsCommand({ Resources: [UNKNOWN.image], Tags: tags })),
        'InvalidAMIID.NotFound',
      );
      await expectEc2Error(
        ec2().send(new CreateTagsCommand({ Resources: [UNKNOWN.snapshot], Tags: tags })),
        'InvalidSnapshot.NotFound',
      );
    });
  });

  describe('DeregisterImage and DeleteSnapshot', () => {
    it('deregisters an image: it leaves the listing and the image-id filter, while its snapshot stays until deleted', async () => {
      const image = await capture('short-lived image');
      const imageId = image.ImageId ?? '';
      const [snapshotId = ''] = snapshotIdsOf(image);

      const out = await ec2().send(new DeregisterImageCommand({ ImageId: imageId }));
      expect(out.Return).toBe(true);
      expect(await ownImageIds()).toEqual([]);
      const filtered = await ec2().send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [imageId] }] }));
      expect(filtered.Images).toEqual([]);

      const snap = await ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
      expect(snap.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
      await ec2().send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      const after = await ec2().send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [snapshotId] }] }));
      expect(after.Snapshots).toEqual([]);
      await expectEc2Error(ec2().send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), 'InvalidSnapshot.NotFound');
    });

    it('refuses to delete the snapshot of a registered image with InvalidSnapshot.InUse', async () => {
      const image = await capture('protected image');
      const [snapshotId = ''] = snapshotIdsOf(image);
      await expectEc2Error(ec2().send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), 'InvalidSnapshot.InUse');
      const still = await ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
      expect(still.Snapshots).toHaveLength(1);
    });

    it('answers InvalidAMIID.NotFound for deregistering an unknown image and InvalidSnapshot.NotFound for deleting an unknown snapshot', async () => {
      await expectEc2Error(ec2().send(new DeregisterImageCommand({ ImageId: UNKNOWN.image })), 'InvalidAMIID.NotFound');
      await expectEc2Error(ec2().send(new DeleteSnapshotCommand({ SnapshotId: UNKNOWN.snapshot })), 'InvalidSnapshot.NotFound');
    });
  });
});
