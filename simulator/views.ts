/**
 * Responsible for turning records into the SDK's output types (`Image`, `Snapshot`, `Instance`,
 * `Volume`) with their clock-derived state, which the XML serializer then writes per the model.
 */
import type { Image, Instance, Snapshot, Volume } from '@aws-sdk/client-ec2';
import {
  INSTANCE_STATE_CODES,
  deregistrationProtectionText,
  imageStatus,
  instanceState,
  isPublic,
  snapshotCompletedAt,
  snapshotStatus,
  type ImageRecord,
  type InstanceRecord,
  type RegionStore,
  type SnapshotRecord,
  type Tag,
  type VolumeRecord,
} from './state.js';

/** EC2 leaves `tagSet` out for an untagged resource (the SDK then reports Tags as undefined). */
export const tagsOf = (tags: readonly Tag[]): Tag[] | undefined => (tags.length > 0 ? [...tags] : undefined);

export function imageView(image: ImageRecord, store: RegionStore, now: number): Image {
  const status = imageStatus(image, store, now);
  return {
    ImageId: image.id,
    ImageLocation: `${image.ownerAlias ?? image.ownerId}/${image.name}`,
    State: status.state,
    OwnerId: image.ownerId,
    ImageOwnerAlias: image.ownerAlias,
    CreationDate: new Date(image.createdAt).toISOString(),
    Public: isPublic(image),
    Architecture: image.architecture,
    ImageType: 'machine',
    Name: image.name,
    Description: image.description,
    RootDeviceType: 'ebs',
    RootDeviceName: image.rootDeviceName,
    BlockDeviceMappings: image.devices.map((d) => ({
      DeviceName: d.deviceName,
      Ebs: {
        SnapshotId: d.snapshotId,
        VolumeSize: d.sizeGiB,
        VolumeType: d.volumeType as 'gp3',
        DeleteOnTermination: d.deleteOnTermination,
        // DescribeImages shows Encrypted only; the key ARN is on the snapshot (DescribeSnapshots).
        Encrypted: d.kmsKeyId !== undefined,
        ...(d.volumeType === 'gp3' && { Iops: 3000, Throughput: 125 }),
      },
    })),
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    BootMode: image.architecture === 'arm64' ? 'uefi' : 'uefi-preferred',
    ImdsSupport: image.imdsSupport,
    StateReason: status.stateReason,
    Tags: tagsOf(image.tags),
    SourceInstanceId: image.sourceInstanceId,
    SourceImageId: image.sourceImageId,
    SourceImageRegion: image.sourceRegion,
    DeregistrationProtection: deregistrationProtectionText(image, now),
    // EC2 prints the time as set (rounded to the minute), e.g. 2027-03-01T00:00:00.000Z.
    DeprecationTime: image.deprecateAt === undefined ? undefined : new Date(image.deprecateAt).toISOString(),
  };
}

export function snapshotView(snap: SnapshotRecord, now: number): Snapshot {
  const status = snapshotStatus(snap, now);
  const completedAt = snapshotCompletedAt(snap, now);
  return {
    SnapshotId: snap.id,
    VolumeId: snap.volumeId,
    State: status.state,
    StateMessage: status.state === 'error' ? 'Snapshot creation failed (simulated EBS failure)' : undefined,
    StartTime: new Date(snap.startedAt),
    // EC2 reports whole percents and only says 100% once the snapshot is completed.
    Progress: `${status.state === 'completed' ? 100 : Math.min(99, Math.floor(status.fraction * 100))}%`,
    OwnerId: snap.ownerId,
    OwnerAlias: snap.ownerAlias,
    Description: snap.description,
    VolumeSize: snap.sizeGiB,
    Encrypted: snap.kmsKeyId !== undefined,
    KmsKeyId: snap.kmsKeyId,
    StorageTier: 'standard',
    CompletionTime: completedAt === undefined ? undefined : new Date(completedAt),
    Tags: tagsOf(snap.tags),
  };
}

export function instanceView(inst: InstanceRecord, store: RegionStore, now: number, index = 0): Instance {
  const state = instanceState(inst, now);
  const running = state === 'running' || state === 'pending';
  const ipDashed = inst.privateIp.replaceAll('.', '-');
  const region = inst.availabilityZone.slice(0, -1);
  return {
    InstanceId: inst.id,
    ImageId: inst.imageId,
    State: { Code: INSTANCE_STATE_CODES[state], Name: state },
    PrivateDnsName: `ip-${ipDashed}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`,
    PublicDnsName: '',
    StateTransitionReason: state === 'stopped' ? 'User initiated' : '',
    AmiLaunchIndex: index,
    InstanceType: inst.instanceType as 't3.micro',
    LaunchTime: new Date(inst.launchedAt),
    Placement: { AvailabilityZone: inst.availabilityZone, Tenancy: 'default' },
    SubnetId: inst.subnetId,
    VpcId: inst.vpcId,
    KeyName: inst.keyName,
    Monitoring: { State: 'disabled' },
    PrivateIpAddress: running || state === 'stopping' || state === 'stopped' ? inst.privateIp : undefined,
    Architecture: inst.architecture,
    RootDeviceType: 'ebs',
    RootDeviceName: inst.rootDeviceName,
    BlockDeviceMappings: inst.volumeIds.flatMap((volumeId) => {
      const v = store.volumes.get(volumeId);
      if (!v?.attachment) return [];
      return [
        {
          DeviceName: v.attachment.device,
          Ebs: {
            VolumeId: v.id,
            Status: 'attached' as const,
            AttachTime: new Date(v.attachment.attachedAt),
            DeleteOnTermination: v.attachment.deleteOnTermination,
          },
        },
      ];
    }),
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    EbsOptimized: true,
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    Tags: tagsOf(inst.tags),
  };
}

export function volumeView(v: VolumeRecord): Volume {
  return {
    VolumeId: v.id,
    Size: v.sizeGiB,
    SnapshotId: v.snapshotId ?? '',
    AvailabilityZone: v.availabilityZone,
    State: v.attachment ? 'in-use' : 'available',
    CreateTime: new Date(v.createdAt),
    Attachments: v.attachment
      ? [
          {
            VolumeId: v.id,
            InstanceId: v.attachment.instanceId,
            Device: v.attachment.device,
            State: 'attached',
            AttachTime: new Date(v.attachment.attachedAt),
            DeleteOnTermination: v.attachment.deleteOnTermination,
          },
        ]
      : [],
    VolumeType: v.volumeType as 'gp3',
    Iops: v.iops,
    Throughput: v.throughput,
    Encrypted: false,
    MultiAttachEnabled: false,
    Tags: tagsOf(v.tags),
  };
}
