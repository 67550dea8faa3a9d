// Converters between the SDK's shapes and the plain ones in types.ts. The SDK marks almost every
// field optional; the defaults here are what the rest of the service may rely on instead.
import type * as Sdk from '@aws-sdk/client-ec2';
import type { Ec2Image, Ec2Instance, Ec2Snapshot, Ec2Volume, LaunchPermissionChange, Tag } from './types.js';

export function toInstance(i: Sdk.Instance): Ec2Instance {
  const tags = fromSdkTags(i.Tags);
  return {
    id: i.InstanceId ?? '',
    name: tags.find((t) => t.key === 'Name')?.value,
    state: i.State?.Name ?? 'unknown',
    architecture: i.Architecture,
    volumeIds: (i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.VolumeId ? [m.Ebs.VolumeId] : [])),
    tags,
    launchedAt: i.LaunchTime ? new Date(i.LaunchTime).toISOString() : undefined,
  };
}

export function toVolume(v: Sdk.Volume): Ec2Volume {
  return { id: v.VolumeId ?? '', sizeGiB: v.Size ?? 0, encrypted: v.Encrypted ?? false };
}

export function toImage(img: Sdk.Image): Ec2Image {
  const ebs = (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs ? [m.Ebs] : []));
  return {
    id: img.ImageId ?? '',
    name: img.Name ?? '',
    description: img.Description || undefined,
    state: img.State ?? 'pending',
    stateReason: img.StateReason?.Message || img.StateReason?.Code || undefined,
    architecture: img.Architecture,
    public: img.Public ?? false,
    ownerId: img.OwnerId,
    snapshotIds: ebs.flatMap((e) => (e.SnapshotId ? [e.SnapshotId] : [])),
    sizeGiB: ebs.reduce((sum, e) => sum + (e.VolumeSize ?? 0), 0),
    encrypted: ebs.some((e) => e.Encrypted === true),
    // EC2 may name the key in an encrypted block device mapping; it always does on the snapshots.
    kmsKeyId: ebs.find((e) => e.Encrypted === true && e.KmsKeyId)?.KmsKeyId,
    tags: fromSdkTags(img.Tags),
    createdAt: img.CreationDate,
    deprecationTime: img.DeprecationTime || undefined,
    deregistrationProtection: (img.DeregistrationProtection ?? '').startsWith('enabled'),
    imdsSupport: img.ImdsSupport || undefined,
  };
}

export function toSnapshot(s: Sdk.Snapshot): Ec2Snapshot {
  return {
    id: s.SnapshotId ?? '',
    state: s.State ?? 'pending',
    progress: parsePercent(s.Progress),
    volumeSizeGiB: s.VolumeSize ?? 0,
    kmsKeyId: s.Encrypted ? s.KmsKeyId : undefined,
    // An empty message is no message.
    stateMessage: s.StateMessage || undefined,
  };
}

export function toSdkTags(tags: Tag[]): Sdk.Tag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value }));
}

/** Tags for CreateImage / CopyImage; without tags the request carries no TagSpecifications at all. */
export function imageTagSpecifications(tags: Tag[]): Sdk.TagSpecification[] | undefined {
  return tags.length ? [{ ResourceType: 'image', Tags: toSdkTags(tags) }] : undefined;
}

/** Tags for RunInstances: the instance and its volumes carry the same ones (the owner's, the Name). */
export function launchTagSpecifications(tags: Tag[]): Sdk.TagSpecification[] | undefined {
  if (!tags.length) return undefined;
  return (['instance', 'volume'] as const).map((ResourceType) => ({ ResourceType, Tags: toSdkTags(tags) }));
}

export function fromSdkTags(tags: Sdk.Tag[] | undefined): Tag[] {
  return (tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

/** Undefined when the change names no group and no account, so the request sends no empty list. */
export function toPermissions(change: LaunchPermissionChange | undefined): Sdk.LaunchPermission[] | undefined {
  if (!change) return undefined;
  const perms: Sdk.LaunchPermission[] = [];
  if (change.group) perms.push({ Group: change.group });
  for (const id of change.userIds ?? []) perms.push({ UserId: id });
  return perms.length ? perms : undefined;
}

export function toVolumePermissions(userIds: string[] | undefined): Sdk.CreateVolumePermission[] | undefined {
  return userIds?.map((UserId) => ({ UserId }));
}

/** EC2 reports snapshot progress as a string such as "42%"; anything unreadable counts as 0. */
export function parsePercent(p: string | undefined): number {
  const n = Number.parseFloat((p ?? '0').replace('%', ''));
  return Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 0;
}
