import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness;
let east: EC2Client;
let west: EC2Client;
let source: string;

beforeEach(async () => {
  h = await startHarness({ speedGiBPerSecond: 1 });
  east = h.ec2('us-east-1');
  west = h.ec2('us-west-2');
  const out = await east.send(
    new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'source-image', Description: 'src' }),
  );
  source = out.ImageId ?? '';
  await east.send(new CreateTagsCommand({ Resources: [source], Tags: [{ Key: 'project', Value: 'prism' }] }));
});
afterEach(async () => {
  await h.stop();
});

const copy = (params: Partial<ConstructorParameters<typeof CopyImageCommand>[0]> = {}) =>
  west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'copied-image', ...params }));

describe('CopyImage', () => {
  it('refuses to copy a source image that is still pending', async () => {
    await expectEc2Error(copy(), 'IncorrectState');
  });

  it('creates a pending image in the destination region with its own snapshots progressing to available', async () => {
    h.advance(30);
    const { ImageId } = await copy();
    const dest = (await west.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    expect(dest).toMatchObject({ State: 'pending', Name: 'copied-image', SourceImageId: source, SourceImageRegion: 'us-east-1' });
    const snapshotId = dest?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const srcSnapshotId = (await east.send(new DescribeImagesCommand({ ImageIds: [source] }))).Images?.[0]
      ?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    expect(snapshotId).not.toBe(srcSnapshotId);

    // The copy lives only in us-west-2.
    await expectEc2Error(east.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] })), 'InvalidAMIID.NotFound');

    h.advance(10);
    const snap = (await west.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
    expect(snap).toMatchObject({ State: 'pending', Progress: '33%', VolumeSize: 30 });
    h.advance(20);
    const done = (await west.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0];
    expect(done?.State).toBe('available');
  });

  it('returns the same image for the same ClientToken and a new one for a new token', async () => {
    h.advance(30);
    const first = await copy({ ClientToken: 'token-1' });
    const again = await copy({ ClientToken: 'token-1' });
    expect(again.ImageId).toBe(first.ImageId);
    const images = await west.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(images.Images).toHaveLength(1);
    const other = await copy({ ClientToken: 'token-2', Name: 'copied-image-2' });
    expect(other.ImageId).not.toBe(first.ImageId);
  });

  it('rejects a reused ClientToken with different parameters as IdempotentParameterMismatch', async () => {
    h.advance(30);
    await copy({ ClientToken: 'token-1' });
    await expectEc2Error(copy({ ClientToken: 'token-1', Name: 'another-name' }), 'IdempotentParameterMismatch');
  });

  it("copies the source's tags only with CopyImageTags, merged with TagSpecifications", async () => {
    h.advance(30);
    const plain = await copy({ Name: 'no-tags' });
    const tagged = await copy({
      Name: 'with-tags',
      CopyImageTags: true,
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'copy', Value: 'yes' }] }],
    });
    const images = await west.send(new DescribeImagesCommand({ ImageIds: [plain.ImageId ?? '', tagged.ImageId ?? ''] }));
    const tagsOf = (id?: string) => images.Images?.find((i) => i.ImageId === id)?.Tags ?? [];
    expect(tagsOf(plain.ImageId)).toEqual([]);
    expect(tagsOf(tagged.ImageId)).toEqual([
      { Key: 'project', Value: 'prism' },
      { Key: 'copy', Value: 'yes' },
    ]);
  });

  it('allows the source name in another region but not twice in the destination', async () => {
    h.advance(30);
    await copy({ Name: 'source-image' });
    await expectEc2Error(copy({ Name: 'source-image' }), 'InvalidAMIName.Duplicate');
  });

  it('rejects an unknown SourceRegion with InvalidRegion', async () => {
    await expectEc2Error(copy({ SourceRegion: 'mars-north-1' }), 'InvalidRegion');
  });

  it('rejects a source image that does not exist in the source region with InvalidAMIID.NotFound', async () => {
    await expectEc2Error(copy({ SourceRegion: 'eu-west-1' }), 'InvalidAMIID.NotFound');
  });

  it('requires Name with MissingParameter', async () => {
    await expectEc2Error(
      west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source } as never)),
      'MissingParameter',
    );
  });
});
