/**
 * Image actions: CreateImage, CopyImage, DescribeImages, DeregisterImage, ModifyImageAttribute,
 * DescribeImageAttribute, GetImageBlockPublicAccessState.
 */
import type {
  CopyImageRequest,
  CopyImageResult,
  CreateImageRequest,
  CreateImageResult,
  DeregisterImageRequest,
  DeregisterImageResult,
  DescribeImageAttributeRequest,
  DescribeImagesRequest,
  DescribeImagesResult,
  GetImageBlockPublicAccessStateResult,
  ImageAttribute,
  LaunchPermission,
  ModifyImageAttributeRequest,
} from '@aws-sdk/client-ec2';
import type { ActionContext, Runtime } from '../context.js';
import { Ec2ApiFault, errors } from '../errors.js';
import { applyFilters, paginate, type FilterTable } from '../filters.js';
import { assertIds, newId } from '../ids.js';
import { AWS_MANAGED_EBS_ALIAS, resolveKmsKey } from '../kms.js';
import { REGIONS } from '../seed.js';
import {
  imageStatus,
  instanceState,
  isDeprecated,
  isDeregistrationProtected,
  isPublic,
  type ImageDevice,
  type ImageRecord,
  type LaunchPermissionRecord,
  type RegionStore,
  type SnapshotRecord,
  type Tag,
} from '../state.js';
import { imageView } from '../views.js';
import { mergeTags, tagsFromSpecs } from './tags.js';

// EC2's documented AMI name rule: 3–128 of letters, digits and ( ) [ ] space . / - ' @ _
const AMI_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

function validateName(name: string): void {
  if (!AMI_NAME.test(name)) {
    throw new Ec2ApiFault(
      'InvalidAMIName.Malformed',
      "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'",
    );
  }
}

function validateDescription(description: string | undefined): void {
  if (description !== undefined && description.length > 255) {
    throw errors.invalidParameterValue('The description must be at most 255 characters long.');
  }
}

/** Names are unique per account and region among registered images (deregistered ones free theirs). */
function assertNameFree(rt: Runtime, store: RegionStore, name: string): void {
  for (const image of store.images.values()) {
    if (image.ownerId === rt.accountId && image.name === name) {
      throw new Ec2ApiFault('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${image.id}`);
    }
  }
}

const canLaunch = (rt: Runtime, image: ImageRecord): boolean =>
  image.ownerId === rt.accountId ||
  image.launchPermissions.some((p) => ('group' in p ? p.group === 'all' : p.userId === rt.accountId));

/** An image this account may see (own, public or shared with it), else InvalidAMIID.NotFound. */
export function visibleImage(rt: Runtime, store: RegionStore, id: string): ImageRecord {
  assertIds('ami', [id]);
  const image = store.images.get(id);
  if (!image || !canLaunch(rt, image)) throw errors.amiNotFound([id]);
  return image;
}

/** An image this account owns: only the owner may change, deregister or inspect its attributes. */
export function ownImage(ctx: ActionContext, id: string): ImageRecord {
  const image = visibleImage(ctx.rt, ctx.store, id);
  if (image.ownerId !== ctx.rt.accountId) throw errors.unauthorized();
  return image;
}

/**
 * The fault injector's decision, taken once when the image is requested: undefined (succeeds) or the
 * fraction (10–90 %) at which its snapshots error, so a failure shows up partway through, as on EC2.
 */
function decideFailure(rt: Runtime): number | undefined {
  if (rt.config.failRate <= 0 || rt.random() >= rt.config.failRate) return undefined;
  return 0.1 + rt.random() * 0.8;
}

function newSnapshot(
  ctx: ActionContext,
  fields: {
    volumeId: string;
    sizeGiB: number;
    description: string;
    tags: Tag[];
    failAtFraction?: number;
    kmsKeyId?: string;
  },
): SnapshotRecord {
  const snap: SnapshotRecord = {
    id: newId('snap'),
    ownerId: ctx.rt.accountId,
    volumeId: fields.volumeId,
    sizeGiB: fields.sizeGiB,
    description: fields.description,
    startedAt: ctx.now,
    anchor: { at: ctx.now, fraction: 0, speedGiBPerSecond: ctx.rt.config.speedGiBPerSecond },
    tags: fields.tags,
    ...(fields.failAtFraction !== undefined && { failAtFraction: fields.failAtFraction }),
    ...(fields.kmsKeyId !== undefined && { kmsKeyId: fields.kmsKeyId }),
  };
  ctx.store.snapshots.set(snap.id, snap);
  return snap;
}

export function createImage(ctx: ActionContext, input: CreateImageRequest): CreateImageResult {
  const { rt, store, now } = ctx;
  const instanceId = input.InstanceId ?? '';
  const name = input.Name ?? '';
  assertIds('i', [instanceId]);
  const instance = store.instances.get(instanceId);
  if (!instance) throw errors.instanceNotFound([instanceId]);
  validateName(name);
  validateDescription(input.Description);
  const tags = tagsFromSpecs(input.TagSpecifications, ['image', 'snapshot']);
  const state = instanceState(instance, now);
  if (state !== 'running' && state !== 'stopped') throw errors.incorrectInstanceState(instanceId, state, 'imaged');
  assertNameFree(rt, store, name);

  const imageId = newId('ami');
  const failAtFraction = decideFailure(rt);
  const devices: ImageDevice[] = instance.volumeIds.flatMap((volumeId) => {
    const volume = store.volumes.get(volumeId);
    if (!volume?.attachment) return [];
    const snap = newSnapshot(ctx, {
      volumeId,
      sizeGiB: volume.sizeGiB,
      description: `Created by CreateImage(${instanceId}) for ${imageId}`,
      tags: tags.get('snapshot') ?? [],
      failAtFraction,
    });
    return [
      {
        deviceName: volume.attachment.device,
        snapshotId: snap.id,
        sizeGiB: volume.sizeGiB,
        volumeType: volume.volumeType,
        deleteOnTermination: volume.attachment.deleteOnTermination,
      },
    ];
  });
  // Root device first, then by name, as EC2 lists them.
  const rank = (d: ImageDevice): string => (d.deviceName === instance.rootDeviceName ? '' : d.deviceName);
  devices.sort((a, b) => rank(a).localeCompare(rank(b)));
  store.images.set(imageId, {
    id: imageId,
    ownerId: rt.accountId,
    name,
    description: input.Description,
    architecture: instance.architecture,
    createdAt: now,
    rootDeviceName: instance.rootDeviceName,
    devices,
    launchPermissions: [],
    tags: tags.get('image') ?? [],
    sourceInstanceId: instanceId,
  });
  return { ImageId: imageId };
}

export function copyImage(ctx: ActionContext, input: CopyImageRequest): CopyImageResult {
  const { rt, store } = ctx;
  const sourceRegion = input.SourceRegion ?? '';
  const sourceImageId = input.SourceImageId ?? '';
  const name = input.Name ?? '';
  if (!(REGIONS as readonly string[]).includes(sourceRegion)) {
    throw new Ec2ApiFault('InvalidRegion', `Invalid region: ${sourceRegion}`);
  }
  assertIds('ami', [sourceImageId]);

  // Idempotency: the same token in the same destination region answers the same image, even after
  // it completed; the same token with different parameters is an error, as on EC2.
  const token = input.ClientToken;
  const previous = token === undefined ? undefined : store.copyTokens.get(token);
  if (previous) {
    const keyChanged =
      input.Encrypted === true && previous.kmsKeyId !== resolveKmsKey(input.KmsKeyId, ctx.regionName, rt.accountId);
    if (
      previous.sourceImageId !== sourceImageId ||
      previous.sourceRegion !== sourceRegion ||
      previous.name !== name ||
      keyChanged
    ) {
      throw new Ec2ApiFault('IdempotentParameterMismatch', `Client token ${token} was already used with different parameters.`);
    }
    return { ImageId: previous.imageId };
  }

  validateName(name);
  validateDescription(input.Description);
  const source = visibleImage(rt, rt.region(sourceRegion), sourceImageId);
  const sourceState = imageStatus(source, rt.region(sourceRegion), ctx.now).state;
  if (sourceState !== 'available') {
    throw new Ec2ApiFault('IncorrectState', `Image ${sourceImageId} is not in a state that allows copying (${sourceState}).`);
  }
  const specTags = tagsFromSpecs(input.TagSpecifications, ['image', 'snapshot']);
  const kmsKeyId = copyKmsKey(ctx, input, source);
  assertNameFree(rt, store, name);
  assertCopySlot(ctx);

  const imageId = newId('ami');
  const failAtFraction = decideFailure(rt);
  const devices = source.devices.map((d): ImageDevice => {
    const snap = newSnapshot(ctx, {
      // EC2 reports copied snapshots with this placeholder volume id.
      volumeId: 'vol-ffffffff',
      sizeGiB: d.sizeGiB,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${sourceImageId} for SourceSnapshot ${d.snapshotId}. Task created on ${new Date(ctx.now).toISOString().slice(0, 10)}.`,
      tags: specTags.get('snapshot') ?? [],
      failAtFraction,
      kmsKeyId,
    });
    const { kmsKeyId: _sourceKey, ...rest } = d;
    return { ...rest, snapshotId: snap.id, ...(kmsKeyId !== undefined && { kmsKeyId }) };
  });
  const copiedTags = input.CopyImageTags && source.ownerId === rt.accountId ? source.tags : [];
  store.images.set(imageId, {
    id: imageId,
    ownerId: rt.accountId,
    name,
    description: input.Description ?? source.description,
    architecture: source.architecture,
    createdAt: ctx.now,
    rootDeviceName: source.rootDeviceName,
    devices,
    launchPermissions: [],
    tags: mergeTags(copiedTags, specTags.get('image') ?? []),
    sourceImageId,
    sourceRegion,
  });
  if (token !== undefined)
    store.copyTokens.set(token, { imageId, sourceImageId, sourceRegion, name, ...(kmsKeyId !== undefined && { kmsKeyId }) });
  return { ImageId: imageId };
}

/**
 * The key ARN the copy's snapshots are encrypted with, or undefined for an unencrypted copy. EC2
 * cannot make an unencrypted copy of an encrypted image, so an encrypted source stays encrypted (with
 * the destination's AWS managed key unless KmsKeyId names another). KmsKeyId needs Encrypted.
 */
function copyKmsKey(ctx: ActionContext, input: CopyImageRequest, source: ImageRecord): string | undefined {
  if (input.KmsKeyId !== undefined && input.Encrypted !== true) {
    throw errors.invalidParameterCombination('KmsKeyId can only be specified together with Encrypted set to true.');
  }
  const encrypted = input.Encrypted === true || source.devices.some((d) => d.kmsKeyId !== undefined);
  return encrypted ? resolveKmsKey(input.KmsKeyId, ctx.regionName, ctx.rt.accountId) : undefined;
}

/**
 * EC2's quota of concurrent copies per destination region: images made by CopyImage that are still
 * pending in this region each hold one (a repeated ClientToken is answered before this, even when full).
 */
function assertCopySlot(ctx: ActionContext): void {
  const limit = ctx.rt.config.maxConcurrentCopies;
  let inProgress = 0;
  for (const image of ctx.store.images.values()) {
    if (image.sourceImageId !== undefined && imageStatus(image, ctx.store, ctx.now).state === 'pending') inProgress++;
  }
  if (inProgress >= limit) throw errors.copyLimitExceeded(limit, ctx.regionName);
}

const IMAGE_FILTERS: FilterTable<{ image: ImageRecord; state: string }> = {
  'image-id': ({ image }) => [image.id],
  name: ({ image }) => [image.name],
  state: ({ state }) => [state],
  'owner-id': ({ image }) => [image.ownerId],
  'owner-alias': ({ image }) => [image.ownerAlias],
  'is-public': ({ image }) => [isPublic(image)],
  architecture: ({ image }) => [image.architecture],
  description: ({ image }) => [image.description],
  'image-type': () => ['machine'],
  'root-device-type': () => ['ebs'],
  'root-device-name': ({ image }) => [image.rootDeviceName],
  'virtualization-type': () => ['hvm'],
  hypervisor: () => ['xen'],
  'platform-details': () => ['Linux/UNIX'],
  'creation-date': ({ image }) => [new Date(image.createdAt).toISOString()],
  'source-instance-id': ({ image }) => [image.sourceInstanceId],
  'block-device-mapping.snapshot-id': ({ image }) => image.devices.map((d) => d.snapshotId),
  'block-device-mapping.volume-size': ({ image }) => image.devices.map((d) => d.sizeGiB),
  'block-device-mapping.device-name': ({ image }) => image.devices.map((d) => d.deviceName),
};

export function describeImages(ctx: ActionContext, input: DescribeImagesRequest): DescribeImagesResult {
  const { rt, store, now } = ctx;
  const account = rt.accountId;
  // EC2 leaves out other accounts' deprecated images unless IncludeDeprecated (or explicit ids)
  // asks for them; an owner always sees its own.
  const showDeprecated = input.IncludeDeprecated === true || (input.ImageIds?.length ?? 0) > 0;
  let images = [...store.images.values()].filter(
    (image) => canLaunch(rt, image) && (showDeprecated || image.ownerId === account || !isDeprecated(image, now)),
  );

  if (input.ImageIds && input.ImageIds.length > 0) {
    if (input.MaxResults !== undefined) {
      throw errors.invalidParameterCombination('The parameter imageIds cannot be used with the parameter maxResults');
    }
    const ids = input.ImageIds;
    assertIds('ami', ids);
    // Unlike the image-id filter, naming an id explicitly makes EC2 fail the whole call if it is unknown.
    const missing = ids.filter((id) => !images.some((image) => image.id === id));
    if (missing.length > 0) throw errors.amiNotFound(missing);
    images = images.filter((image) => ids.includes(image.id));
  }
  if (input.Owners && input.Owners.length > 0) {
    const owners = input.Owners;
    images = images.filter((image) =>
      owners.some((o) => (o === 'self' ? image.ownerId === account : o === image.ownerId || o === image.ownerAlias)),
    );
  }
  if (input.ExecutableUsers && input.ExecutableUsers.length > 0) {
    const users = input.ExecutableUsers;
    images = images.filter((image) =>
      users.some((u) => {
        if (u === 'all') return isPublic(image);
        const userId = u === 'self' ? account : u;
        return image.launchPermissions.some((p) => 'userId' in p && p.userId === userId);
      }),
    );
  }
  const withState = images.map((image) => ({ image, state: imageStatus(image, store, now).state }));
  const filtered = applyFilters(withState, input.Filters, IMAGE_FILTERS, ({ image }) => image.tags);
  const page = paginate(filtered, ({ image }) => image.id, input, { min: 6, max: 1000 });
  return { Images: page.items.map(({ image }) => imageView(image, store, now)), NextToken: page.nextToken };
}

export function deregisterImage(ctx: ActionContext, input: DeregisterImageRequest): DeregisterImageResult {
  const { store } = ctx;
  const image = ownImage(ctx, input.ImageId ?? '');
  if (isDeregistrationProtected(image, ctx.now)) throw errors.deregistrationProtected(image.id);
  store.images.delete(image.id);
  if (!input.DeleteAssociatedSnapshots) return { Return: true };

  const results = image.devices.map((d) => {
    // EC2 keeps a snapshot another registered AMI still uses, and reports it as skipped.
    const shared = [...store.images.values()].some((other) => other.devices.some((o) => o.snapshotId === d.snapshotId));
    if (shared) return { SnapshotId: d.snapshotId, ReturnCode: 'skipped' as const };
    store.snapshots.delete(d.snapshotId);
    return { SnapshotId: d.snapshotId, ReturnCode: 'success' as const };
  });
  return { Return: true, DeleteSnapshotResults: results };
}

function permissionKey(p: LaunchPermissionRecord): string {
  return 'group' in p ? `group:${p.group}` : `user:${p.userId}`;
}

function toPermissions(groups: readonly string[], userIds: readonly string[]): LaunchPermissionRecord[] {
  const out: LaunchPermissionRecord[] = [];
  for (const g of groups) {
    if (g !== 'all') throw errors.invalidParameterValue(`Invalid value '${g}' for userGroup. Only 'all' is supported.`);
    out.push({ group: 'all' });
  }
  for (const u of userIds) {
    if (!/^\d{12}$/.test(u)) {
      throw new Ec2ApiFault('InvalidAMIAttributeItemValue', `Invalid attribute item value "${u}" for userId item type.`);
    }
    out.push({ userId: u });
  }
  return out;
}

function fromList(list: readonly LaunchPermission[] | undefined): LaunchPermissionRecord[] {
  const groups = (list ?? []).flatMap((p) => (p.Group ? [p.Group] : []));
  const users = (list ?? []).flatMap((p) => (p.UserId ? [p.UserId] : []));
  return toPermissions(groups, users);
}

interface AttributeChange {
  add: LaunchPermissionRecord[];
  remove: LaunchPermissionRecord[];
  description?: string;
  imdsSupport?: string;
}

/** What ModifyImageAttribute asks for, in either form (structured, or Attribute + OperationType/Value). */
function requestedChange(input: ModifyImageAttributeRequest): AttributeChange {
  const change: AttributeChange = {
    add: fromList(input.LaunchPermission?.Add),
    remove: fromList(input.LaunchPermission?.Remove),
    description: input.Description?.Value,
    imdsSupport: input.ImdsSupport?.Value,
  };
  const attribute = input.Attribute;
  if (attribute === undefined) return change;
  if (attribute === 'launchPermission') {
    const perms = toPermissions(input.UserGroups ?? [], input.UserIds ?? []);
    if (input.OperationType === 'add') change.add.push(...perms);
    else if (input.OperationType === 'remove') change.remove.push(...perms);
    else throw errors.missingParameter('OperationType');
  } else if (attribute === 'description') {
    change.description = input.Value ?? change.description;
  } else if (attribute === 'imdsSupport') {
    change.imdsSupport = input.Value ?? change.imdsSupport;
  } else {
    throw errors.invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid.`);
  }
  return change;
}

/**
 * Refusals EC2 makes before changing anything: public sharing under block public access or of
 * encrypted snapshots, and any sharing of snapshots under the AWS managed key (only a customer
 * managed key can be granted to another account).
 */
function assertMayShare(ctx: ActionContext, image: ImageRecord, change: AttributeChange): void {
  const managedKey = resolveKmsKey(AWS_MANAGED_EBS_ALIAS, ctx.regionName, ctx.rt.accountId);
  if (change.add.length > 0 && image.devices.some((d) => d.kmsKeyId === managedKey)) throw errors.managedKeyNotShareable();
  if (!change.add.some((p) => 'group' in p)) return;
  if (ctx.rt.config.blockPublicAccess) {
    throw new Ec2ApiFault(
      'OperationNotPermitted',
      `You can't publicly share image ${image.id} because block public access for AMIs is enabled for this account. To publicly share the image, you must disable block public access for AMIs.`,
    );
  }
  if (image.devices.some((d) => d.kmsKeyId !== undefined)) throw errors.encryptedNotPublic();
}

export function modifyImageAttribute(ctx: ActionContext, input: ModifyImageAttributeRequest): void {
  const image = ownImage(ctx, input.ImageId ?? '');
  const change = requestedChange(input);
  const { add, remove, description, imdsSupport } = change;
  if (add.length === 0 && remove.length === 0 && description === undefined && imdsSupport === undefined) {
    throw errors.invalidParameterCombination('No attributes specified.');
  }
  // v2.0 is the only value, and once set it stays: EC2 offers no way back.
  if (imdsSupport !== undefined && imdsSupport !== 'v2.0') {
    throw errors.invalidParameterValue(`Value (${imdsSupport}) for parameter ImdsSupport is invalid. Valid value: v2.0.`);
  }
  assertMayShare(ctx, image, change);
  validateDescription(description);

  const removed = new Set(remove.map(permissionKey));
  const kept = image.launchPermissions.filter((p) => !removed.has(permissionKey(p)));
  const keys = new Set(kept.map(permissionKey));
  for (const p of add) {
    if (!keys.has(permissionKey(p))) kept.push(p);
    keys.add(permissionKey(p));
  }
  image.launchPermissions = kept;
  if (description !== undefined) image.description = description;
  if (imdsSupport !== undefined) image.imdsSupport = 'v2.0';
}

const IMAGE_ATTRIBUTES = new Set([
  'description',
  'kernel',
  'ramdisk',
  'launchPermission',
  'productCodes',
  'blockDeviceMapping',
  'sriovNetSupport',
  'bootMode',
  'tpmSupport',
  'uefiData',
  'lastLaunchedTime',
  'imdsSupport',
  'deregistrationProtection',
]);

export function describeImageAttribute(ctx: ActionContext, input: DescribeImageAttributeRequest): ImageAttribute {
  const attribute = input.Attribute ?? '';
  if (!IMAGE_ATTRIBUTES.has(attribute)) {
    throw errors.invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  const image = ownImage(ctx, input.ImageId ?? '');
  const view = imageView(image, ctx.store, ctx.now);
  switch (attribute) {
    case 'description':
      return { ImageId: image.id, Description: { Value: image.description } };
    case 'launchPermission':
      return {
        ImageId: image.id,
        LaunchPermissions: image.launchPermissions.map((p) => ('group' in p ? { Group: p.group } : { UserId: p.userId })),
      };
    case 'blockDeviceMapping':
      return { ImageId: image.id, BlockDeviceMappings: view.BlockDeviceMappings };
    case 'bootMode':
      return { ImageId: image.id, BootMode: { Value: view.BootMode } };
    case 'sriovNetSupport':
      return { ImageId: image.id, SriovNetSupport: { Value: 'simple' } };
    case 'imdsSupport':
      return { ImageId: image.id, ImdsSupport: { Value: image.imdsSupport } };
    case 'deregistrationProtection':
      return { ImageId: image.id, DeregistrationProtection: { Value: view.DeregistrationProtection } };
    default:
      return { ImageId: image.id };
  }
}

export function getImageBlockPublicAccessState(ctx: ActionContext): GetImageBlockPublicAccessStateResult {
  return {
    ImageBlockPublicAccessState: ctx.rt.config.blockPublicAccess ? 'block-new-sharing' : 'unblocked',
    ManagedBy: 'account',
  };
}
