import {
  CreateImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  GetImageBlockPublicAccessStateCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function setup(blockPublicAccess = false): Promise<{ ec2: EC2Client; imageId: string }> {
  h = await startHarness({ blockPublicAccess });
  const ec2 = h.ec2();
  const out = await ec2.send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'share-me' }));
  return { ec2, imageId: out.ImageId ?? '' };
}

const isPublic = async (ec2: EC2Client, imageId: string) =>
  (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.Public;

const permissions = async (ec2: EC2Client, imageId: string) =>
  (await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions;

describe('launch permissions', () => {
  it('makes an image public with Group=all and private again with Remove, reflected in Public and the attribute', async () => {
    const { ec2, imageId } = await setup();
    expect(await isPublic(ec2, imageId)).toBe(false);
    expect(await permissions(ec2, imageId)).toEqual([]);

    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }));
    expect(await isPublic(ec2, imageId)).toBe(true);
    expect(await permissions(ec2, imageId)).toEqual([{ Group: 'all' }]);
    const publicImages = await ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'is-public', Values: ['true'] }] }),
    );
    expect(publicImages.Images?.map((i) => i.ImageId)).toEqual([imageId]);

    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: [{ Group: 'all' }] } }));
    expect(await isPublic(ec2, imageId)).toBe(false);
  });

  it('shares with accounts by UserId, visible through ExecutableUsers', async () => {
    const { ec2, imageId } = await setup();
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: { Add: [{ UserId: '210987654321' }, { UserId: '111122223333' }] },
      }),
    );
    expect(await permissions(ec2, imageId)).toEqual([{ UserId: '210987654321' }, { UserId: '111122223333' }]);
    expect(await isPublic(ec2, imageId)).toBe(false);
    const shared = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['210987654321'] }));
    expect(shared.Images?.map((i) => i.ImageId)).toEqual([imageId]);
    const notShared = await ec2.send(new DescribeImagesCommand({ ExecutableUsers: ['999999999999'] }));
    expect(notShared.Images).toEqual([]);

    await ec2.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: [{ UserId: '111122223333' }] } }),
    );
    expect(await permissions(ec2, imageId)).toEqual([{ UserId: '210987654321' }]);
  });

  it('accepts the OperationType + UserIds/UserGroups form', async () => {
    const { ec2, imageId } = await setup();
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        Attribute: 'launchPermission',
        OperationType: 'add',
        UserIds: ['210987654321'],
        UserGroups: ['all'],
      }),
    );
    expect(await permissions(ec2, imageId)).toEqual([{ Group: 'all' }, { UserId: '210987654321' }]);
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        Attribute: 'launchPermission',
        OperationType: 'remove',
        UserGroups: ['all'],
      }),
    );
    expect(await permissions(ec2, imageId)).toEqual([{ UserId: '210987654321' }]);
  });

  it('changes the description through ModifyImageAttribute', async () => {
    const { ec2, imageId } = await setup();
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, Description: { Value: 'new words' } }));
    const attr = await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'description' }));
    expect(attr.Description?.Value).toBe('new words');
  });

  it('rejects a group other than all with InvalidParameterValue and a malformed account id with InvalidAMIAttributeItemValue', async () => {
    const { ec2, imageId } = await setup();
    await expectEc2Error(
      ec2.send(
        new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'everyone' as 'all' }] } }),
      ),
      'InvalidParameterValue',
    );
    await expectEc2Error(
      ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: 'bob' }] } })),
      'InvalidAMIAttributeItemValue',
    );
  });

  it('rejects an unknown image with InvalidAMIID.NotFound', async () => {
    const { ec2 } = await setup();
    await expectEc2Error(
      ec2.send(
        new ModifyImageAttributeCommand({ ImageId: 'ami-0123456789abcdef0', LaunchPermission: { Add: [{ Group: 'all' }] } }),
      ),
      'InvalidAMIID.NotFound',
    );
  });
});

describe('image block public access', () => {
  it('refuses to make an image public with OperationNotPermitted but still shares with accounts', async () => {
    const { ec2, imageId } = await setup(true);
    const state = await ec2.send(new GetImageBlockPublicAccessStateCommand({}));
    expect(state.ImageBlockPublicAccessState).toBe('block-new-sharing');
    await expectEc2Error(
      ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } })),
      'OperationNotPermitted',
    );
    expect(await isPublic(ec2, imageId)).toBe(false);
    await ec2.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }),
    );
    expect(await permissions(ec2, imageId)).toEqual([{ UserId: '210987654321' }]);
  });
});

describe('snapshot create-volume permission', () => {
  it('grants and revokes create-volume permission to accounts, visible through DescribeSnapshotAttribute', async () => {
    const { ec2, imageId } = await setup();
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    const snapshotId = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const read = async () =>
      (await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' })))
        .CreateVolumePermissions;
    expect(await read()).toEqual([]);
    await ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Add: [{ UserId: '111122223333' }, { UserId: '444455556666' }] },
      }),
    );
    expect(await read()).toEqual([{ UserId: '111122223333' }, { UserId: '444455556666' }]);
    await ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Remove: [{ UserId: '111122223333' }] },
      }),
    );
    expect(await read()).toEqual([{ UserId: '444455556666' }]);
    await expectEc2Error(
      ec2.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: snapshotId,
          Attribute: 'createVolumePermission',
          CreateVolumePermission: { Add: [{ UserId: '12' }] },
        }),
      ),
      'InvalidParameterValue',
    );
    await expectEc2Error(
      ec2.send(
        new DescribeSnapshotAttributeCommand({ SnapshotId: 'snap-0123456789abcdef0', Attribute: 'createVolumePermission' }),
      ),
      'InvalidSnapshot.NotFound',
    );
  });
});
