import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  StopInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { expectEc2Error, startHarness, type Harness } from './helpers.js';

const DEMO = SEEDED_INSTANCES['demo-workstation'];
const GENOMICS = SEEDED_INSTANCES['genomics-pipeline'];
const TEACHING = SEEDED_INSTANCES['teaching-env'];

let h: Harness;
let ec2: EC2Client;
beforeEach(async () => {
  // 1 GiB/s: the 30 GiB demo-workstation snapshot takes 30 s of simulated time.
  h = await startHarness({ speedGiBPerSecond: 1 });
  ec2 = h.ec2();
});
afterEach(async () => {
  await h.stop();
});

async function image(id: string) {
  const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }));
  expect(out.Images).toHaveLength(1);
  return out.Images?.[0];
}

async function create(instanceId: string, name: string): Promise<string> {
  const out = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  expect(out.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
  return out.ImageId ?? '';
}

describe('CreateImage lifecycle', () => {
  it('returns a pending image that already lists its snapshot ids, whose progress climbs with time until the image is available', async () => {
    const imageId = await create(DEMO, 'demo capture');
    const pending = await image(imageId);
    expect(pending).toMatchObject({ State: 'pending', Name: 'demo capture', Architecture: 'x86_64', SourceInstanceId: DEMO });
    const snapshotIds = pending?.BlockDeviceMappings?.map((m) => m.Ebs?.SnapshotId) ?? [];
    expect(snapshotIds).toHaveLength(1);
    expect(snapshotIds[0]).toMatch(/^snap-[0-9a-f]{17}$/);

    const progress = async () => {
      const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds as string[] }));
      return out.Snapshots?.[0];
    };
    expect(await progress()).toMatchObject({ State: 'pending', Progress: '0%', VolumeSize: 30 });
    h.advance(15); // half of 30 GiB at 1 GiB/s
    expect(await progress()).toMatchObject({ State: 'pending', Progress: '50%' });
    expect((await image(imageId))?.State).toBe('pending');
    h.advance(15);
    expect(await progress()).toMatchObject({ State: 'completed', Progress: '100%' });
    expect((await image(imageId))?.State).toBe('available');
  });

  it('snapshots every volume, and the image waits for the largest one', async () => {
    const imageId = await create(GENOMICS, 'genomics capture');
    const pending = await image(imageId);
    expect(pending?.BlockDeviceMappings?.map((m) => m.Ebs?.VolumeSize)).toEqual([50, 200]);
    h.advance(50);
    const snaps = await ec2.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'description', Values: [`*for ${imageId}`] }] }),
    );
    const bySize = new Map(snaps.Snapshots?.map((s) => [s.VolumeSize, s]));
    expect(bySize.get(50)).toMatchObject({ State: 'completed', Progress: '100%' });
    expect(bySize.get(200)).toMatchObject({ State: 'pending', Progress: '25%' });
    expect((await image(imageId))?.State).toBe('pending');
    h.advance(150);
    expect((await image(imageId))?.State).toBe('available');
  });

  it('images a stopped instance', async () => {
    const imageId = await create(TEACHING, 'teaching capture');
    expect((await image(imageId))?.State).toBe('pending');
  });

  it('tags the image and its snapshots from TagSpecifications', async () => {
    const out = await ec2.send(
      new CreateImageCommand({
        InstanceId: DEMO,
        Name: 'tagged',
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'project', Value: 'prism' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'owner', Value: 'lab' }] },
        ],
      }),
    );
    const img = await image(out.ImageId ?? '');
    expect(img?.Tags).toEqual([{ Key: 'project', Value: 'prism' }]);
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:owner', Values: ['lab'] }] }));
    expect(snaps.Snapshots?.map((s) => s.SnapshotId)).toEqual([img?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId]);
  });
});

describe('CreateImage validation', () => {
  it('rejects a name already used by a registered image in the same region with InvalidAMIName.Duplicate', async () => {
    await create(DEMO, 'same-name');
    await expectEc2Error(
      ec2.send(new CreateImageCommand({ InstanceId: TEACHING, Name: 'same-name' })),
      'InvalidAMIName.Duplicate',
    );
  });

  it('frees the name once the image is deregistered', async () => {
    const first = await create(DEMO, 'reused-name');
    await ec2.send(new DeregisterImageCommand({ ImageId: first }));
    await create(DEMO, 'reused-name');
  });

  it.each([['ab'], ['x'.repeat(129)], ['bad|name'], ['semi;colon'], ['tab\tname']])(
    'rejects the malformed name %j with InvalidAMIName.Malformed',
    async (name) => {
      await expectEc2Error(ec2.send(new CreateImageCommand({ InstanceId: DEMO, Name: name })), 'InvalidAMIName.Malformed');
    },
  );

  it("accepts every character EC2 allows: letters, digits, ( ) [ ] space . / - ' @ _", async () => {
    await create(DEMO, "Lab (v2) [gpu] 1.0/x-y 'a'@b_c");
  });

  it('rejects an unknown instance with InvalidInstanceID.NotFound and a malformed id with InvalidInstanceID.Malformed', async () => {
    await expectEc2Error(
      ec2.send(new CreateImageCommand({ InstanceId: 'i-0123456789abcdef0', Name: 'x-image' })),
      'InvalidInstanceID.NotFound',
    );
    await expectEc2Error(
      ec2.send(new CreateImageCommand({ InstanceId: 'i-nothex', Name: 'x-image' })),
      'InvalidInstanceID.Malformed',
    );
  });

  it('rejects an instance that is stopping with IncorrectInstanceState', async () => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [DEMO] }));
    await expectEc2Error(ec2.send(new CreateImageCommand({ InstanceId: DEMO, Name: 'too-soon' })), 'IncorrectInstanceState');
    h.advance(5);
    await create(DEMO, 'once-stopped');
  });

  it('rejects an instance in another region as not found', async () => {
    await expectEc2Error(
      h.ec2('eu-west-1').send(new CreateImageCommand({ InstanceId: DEMO, Name: 'elsewhere' })),
      'InvalidInstanceID.NotFound',
    );
  });

  it('rejects a TagSpecification for a resource type CreateImage cannot tag', async () => {
    await expectEc2Error(
      ec2.send(
        new CreateImageCommand({
          InstanceId: DEMO,
          Name: 'bad-tags',
          TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'a', Value: 'b' }] }],
        }),
      ),
      'InvalidParameterValue',
    );
  });
});

describe('DescribeImages', () => {
  it('fails with InvalidAMIID.NotFound when ImageIds names an unknown image, but the image-id filter just leaves it out', async () => {
    const known = await create(DEMO, 'known');
    const unknown = 'ami-0fffffffffffffff0';
    await expectEc2Error(ec2.send(new DescribeImagesCommand({ ImageIds: [known, unknown] })), 'InvalidAMIID.NotFound');
    const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [known, unknown] }] }));
    expect(out.Images?.map((i) => i.ImageId)).toEqual([known]);
  });

  it('rejects a malformed image id with InvalidAMIID.Malformed', async () => {
    await expectEc2Error(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-xyz'] })), 'InvalidAMIID.Malformed');
  });

  it('scopes by Owners: self sees only own images, amazon the public base images', async () => {
    const own = await create(DEMO, 'mine');
    const self = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(self.Images?.map((i) => i.ImageId)).toEqual([own]);
    const byAccount = await ec2.send(new DescribeImagesCommand({ Owners: [h.sim.accountId] }));
    expect(byAccount.Images?.map((i) => i.ImageId)).toEqual([own]);
    const amazon = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    expect(amazon.Images?.length).toBe(2);
    expect(amazon.Images?.every((i) => i.Public && i.ImageOwnerAlias === 'amazon')).toBe(true);
  });

  it('filters by name, state, tag and tag-key', async () => {
    const a = await create(DEMO, 'alpha-1');
    const b = await create(TEACHING, 'beta-1');
    await ec2.send(new CreateTagsCommand({ Resources: [b], Tags: [{ Key: 'team', Value: 'genomics' }] }));
    const ids = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters }))).Images?.map((i) => i.ImageId).sort();
    expect(await ids([{ Name: 'name', Values: ['alpha-*'] }])).toEqual([a]);
    expect(await ids([{ Name: 'tag:team', Values: ['genomics'] }])).toEqual([b]);
    expect(await ids([{ Name: 'tag-key', Values: ['team'] }])).toEqual([b]);
    expect(await ids([{ Name: 'state', Values: ['available'] }])).toEqual([]);
    h.advance(30); // both are 30 GiB or less
    expect(await ids([{ Name: 'state', Values: ['available'] }])).toEqual([a, b].sort());
  });

  it('pages with MaxResults and NextToken without repeating or losing an image', async () => {
    const created: string[] = [];
    for (let i = 0; i < 8; i++) created.push(await create(DEMO, `page-${i}`));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 6, NextToken: token }));
      expect(out.Images?.length).toBeLessThanOrEqual(6);
      seen.push(...(out.Images?.map((i) => i.ImageId ?? '') ?? []));
      token = out.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(created.sort());
  });

  it('rejects MaxResults below EC2s minimum with InvalidParameterValue', async () => {
    await expectEc2Error(ec2.send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 2 })), 'InvalidParameterValue');
  });

  it('answers the description attribute', async () => {
    const out = await ec2.send(new CreateImageCommand({ InstanceId: DEMO, Name: 'described', Description: 'my env' }));
    const attr = await ec2.send(new DescribeImageAttributeCommand({ ImageId: out.ImageId, Attribute: 'description' }));
    expect(attr.Description?.Value).toBe('my env');
  });
});

describe('DeregisterImage and DeleteSnapshot', () => {
  it('keeps the snapshots when deregistering without DeleteAssociatedSnapshots, and then lets them be deleted', async () => {
    const imageId = await create(DEMO, 'keep-snaps');
    const snapshotId = (await image(imageId))?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    await expectEc2Error(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), 'InvalidSnapshot.InUse');

    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    await expectEc2Error(ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })), 'InvalidAMIID.NotFound');
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(snaps.Snapshots).toHaveLength(1);

    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    await expectEc2Error(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })), 'InvalidSnapshot.NotFound');
  });

  it('deletes the snapshots with DeleteAssociatedSnapshots and reports each one', async () => {
    const imageId = await create(GENOMICS, 'drop-snaps');
    const snapshotIds = (await image(imageId))?.BlockDeviceMappings?.map((m) => m.Ebs?.SnapshotId ?? '') ?? [];
    const out = await ec2.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }));
    expect(out.Return).toBe(true);
    expect(out.DeleteSnapshotResults?.map((r) => [r.SnapshotId, r.ReturnCode]).sort()).toEqual(
      snapshotIds.map((id) => [id, 'success']).sort(),
    );
    const left = await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: snapshotIds }] }));
    expect(left.Snapshots).toEqual([]);
  });

  it('fails with InvalidAMIID.NotFound for an image that does not exist', async () => {
    await expectEc2Error(ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0' })), 'InvalidAMIID.NotFound');
  });

  it('fails with InvalidSnapshot.NotFound when deleting an unknown snapshot', async () => {
    await expectEc2Error(
      ec2.send(new DeleteSnapshotCommand({ SnapshotId: 'snap-0123456789abcdef0' })),
      'InvalidSnapshot.NotFound',
    );
  });
});

describe('DescribeSnapshots', () => {
  it('fails on unknown SnapshotIds but leaves unknown ids of the snapshot-id filter out', async () => {
    const imageId = await create(DEMO, 'snap-filter');
    const snapshotId = (await image(imageId))?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const unknown = 'snap-0fffffffffffffff0';
    await expectEc2Error(
      ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId, unknown] })),
      'InvalidSnapshot.NotFound',
    );
    const out = await ec2.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [snapshotId, unknown] }] }),
    );
    expect(out.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
  });

  it('pages own snapshots with MaxResults and NextToken', async () => {
    for (let i = 0; i < 4; i++) await create(GENOMICS, `snap-page-${i}`); // 8 snapshots
    const first = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5 }));
    expect(first.Snapshots).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    const second = await ec2.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5, NextToken: first.NextToken }),
    );
    expect(second.Snapshots).toHaveLength(3);
    expect(second.NextToken).toBeUndefined();
    const all = [...(first.Snapshots ?? []), ...(second.Snapshots ?? [])].map((s) => s.SnapshotId);
    expect(new Set(all).size).toBe(8);
  });
});

describe('CreateTags and DeleteTags', () => {
  it('adds, overwrites and removes tags on an image', async () => {
    const imageId = await create(DEMO, 'tag-me');
    await ec2.send(
      new CreateTagsCommand({
        Resources: [imageId],
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    await ec2.send(new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: 'a', Value: '3' }] }));
    expect((await image(imageId))?.Tags).toEqual([
      { Key: 'a', Value: '3' },
      { Key: 'b', Value: '2' },
    ]);
    // A value that does not match leaves the tag; a key alone removes it.
    await ec2.send(new DeleteTagsCommand({ Resources: [imageId], Tags: [{ Key: 'a', Value: 'nope' }, { Key: 'b' }] }));
    expect((await image(imageId))?.Tags).toEqual([{ Key: 'a', Value: '3' }]);
  });

  it('rejects tagging an unknown image with InvalidAMIID.NotFound and reserved aws: keys with InvalidParameterValue', async () => {
    await expectEc2Error(
      ec2.send(new CreateTagsCommand({ Resources: ['ami-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })),
      'InvalidAMIID.NotFound',
    );
    const imageId = await create(DEMO, 'reserved');
    await expectEc2Error(
      ec2.send(new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: 'aws:thing', Value: 'b' }] })),
      'InvalidParameterValue',
    );
  });
});
