// AmiCreation: one creation job, with its queries, mutations and the amiProgress subscription.
import type { CREATION_STAGES, CREATION_STATUSES } from '../../db/schema.js';
import { type RegionCopyRow } from '../../db/schema.js';
import type { CreationRecord } from '../../db/creations.js';
import { isTerminal } from '../../services/ami-creations.js';
import { estimateCost } from '../../services/costs.js';
import {
  ConflictError,
  Ec2Error,
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from '../../services/errors.js';
import * as resolvers from '../../resolvers/creations.js';
import { builder } from '../builder.js';
import { connectionType, TagInput, TagType } from './common.js';

export const AmiCreationStatusEnum = builder.enumType('AmiCreationStatus', {
  description: 'Where a creation (or one regional copy) stands',
  values: {
    PENDING: { description: 'Recorded; EC2 has not confirmed the image yet' },
    IN_PROGRESS: { description: 'EC2 is working on it' },
    COMPLETED: { description: 'Done: every image is available' },
    PARTIALLY_COMPLETED: { description: 'The source AMI is available but at least one regional copy failed' },
    FAILED: { description: 'Ended without a usable AMI; see failureReason' },
    CANCELLED: { description: 'Cancelled by the user; images made so far were removed' },
  } satisfies Record<(typeof CREATION_STATUSES)[number], { description: string }>,
});

export const AmiCreationStageEnum = builder.enumType('AmiCreationStage', {
  description: 'The step a creation is at',
  values: {
    VALIDATING: { description: 'Checking the request and asking EC2 for the image' },
    SNAPSHOTTING: { description: "EC2 is snapshotting the instance's volumes" },
    ENCRYPTING: { description: 'Copying the source image in its own region, encrypted; the unencrypted one is removed after' },
    COPYING: { description: 'Copying the AMI to other regions' },
    APPLYING_SETTINGS: {
      description: 'Applying deprecation, deregistration protection, IMDSv2 and the SSM parameter to the images',
    },
    PUBLISHING: { description: 'Applying launch permissions (public, shared accounts)' },
    DONE: { description: 'Finished' },
  } satisfies Record<(typeof CREATION_STAGES)[number], { description: string }>,
});

const CostEstimateType = builder.objectRef<ReturnType<typeof estimateCost>>('CostEstimate').implement({
  description: 'What the AMI costs to keep, and what its copies cost to make (USD, estimates)',
  fields: (t) => ({
    storageMonthlyUsd: t.exposeFloat('storageMonthlyUsd', {
      description: 'Snapshot storage in USD per month, all regions together (upper bound: full size)',
    }),
    creationUsd: t.exposeFloat('creationUsd', { description: 'One-time cost in USD: cross-region data transfer for the copies' }),
    sizeGiB: t.exposeInt('sizeGiB', { description: "Total size of the image's EBS volumes in GiB" }),
  }),
});

const RegionCopyType = builder.objectRef<RegionCopyRow>('RegionCopy').implement({
  description: "The copy of a creation's AMI in one other region",
  fields: (t) => ({
    region: t.exposeString('region', { description: 'Destination region' }),
    amiId: t.exposeString('amiId', { nullable: true, description: "The copy's AMI id, once CopyImage returned it" }),
    status: t.field({ type: AmiCreationStatusEnum, resolve: (c) => c.status, description: 'Status of this copy' }),
    progress: t.exposeInt('progress', { description: '0..100' }),
    message: t.exposeString('message', { nullable: true, description: 'Human-readable state, or the failure reason' }),
    queuedAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (c) => c.queuedAt,
      description:
        "When the copy first waited in its region's queue because EC2's limit of concurrent copies to the region was reached (CopyImage answered ResourceLimitExceeded); null if it never waited. A PENDING copy with queuedAt set is queued: it is requested when a slot frees",
    }),
  }),
});

const RetentionType = builder.objectRef<{ keepLatest: number }>('Retention').implement({
  description: "What a creation keeps of its template's AMIs once its own AMI is available",
  fields: (t) => ({
    keepLatest: t.exposeInt('keepLatest', {
      description:
        "How many of the owner's newest AMIs of the template are kept (this one included); older ones are deregistered",
    }),
  }),
});

const RegionKmsKeyType = builder.objectRef<{ region: string; kmsKeyId: string }>('RegionKmsKey').implement({
  description: 'The KMS key that encrypts the copy in one region',
  fields: (t) => ({
    region: t.exposeString('region', { description: 'Copy region' }),
    kmsKeyId: t.exposeString('kmsKeyId', { description: 'Key id, key ARN, alias name or alias ARN, in that region' }),
  }),
});

const EncryptionType = builder
  .objectRef<{ kmsKeyId: string | null; regionKmsKeyIds: Record<string, string> }>('Encryption')
  .implement({
    description: "How a creation's images are encrypted",
    fields: (t) => ({
      kmsKeyId: t.exposeString('kmsKeyId', {
        nullable: true,
        description: "The source region's key; null: the AWS managed key (alias/aws/ebs)",
      }),
      regionKmsKeyIds: t.field({
        type: [RegionKmsKeyType],
        description: "Each copy region's key, as resolved when the creation was accepted",
        resolve: (e) => Object.entries(e.regionKmsKeyIds).map(([region, kmsKeyId]) => ({ region, kmsKeyId })),
      }),
    }),
  });

const RegionKmsKeyInput = builder.inputType('RegionKmsKeyInput', {
  description: 'The KMS key to encrypt the copy in one region with',
  fields: (t) => ({
    region: t.string({ required: true, description: 'A region of copyToRegions' }),
    kmsKeyId: t.string({ required: true, description: 'Key id, key ARN, alias name (alias/…) or alias ARN, in that region' }),
  }),
});

const EncryptionInput = builder.inputType('EncryptionInput', {
  description:
    "Encrypt every resulting AMI, the source region's included: the source image is copied in its own region with the key, then the unencrypted one is removed",
  fields: (t) => ({
    kmsKeyId: t.string({
      description:
        'The key for the source region (and, for a multi-Region key, its replicas); omitted: the AWS managed key, which cannot be shared',
    }),
    regionKmsKeyIds: t.field({
      type: [RegionKmsKeyInput],
      description: 'The key of each copy region; needed for every copy region whose key cannot be derived from kmsKeyId',
    }),
  }),
});

const RetentionInput = builder.inputType('RetentionInput', {
  description: "Keep only the newest AMIs of the creation's template once this one is available",
  fields: (t) => ({
    keepLatest: t.int({
      required: true,
      description:
        '1..100: how many of your newest AMIs of templateName to keep, this one included. Older ones are deregistered in every region and their snapshots deleted; public ones are kept',
    }),
  }),
});

export const AmiCreationType = builder.objectRef<CreationRecord>('AmiCreation').implement({
  description: 'One AMI creation job: CreateImage in the source region, then optional copies and publishing.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Creation id' }),
    name: t.exposeString('name', { description: 'AMI name' }),
    description: t.exposeString('description', { nullable: true, description: 'AMI description' }),
    templateName: t.exposeString('templateName', { nullable: true, description: 'Template the AMI is associated with' }),
    instanceId: t.exposeString('instanceId', { description: 'Source instance id' }),
    sourceRegion: t.exposeString('sourceRegion', { description: 'Region of the source instance and AMI' }),
    amiId: t.exposeString('amiId', { nullable: true, description: 'The source-region AMI id, once EC2 has returned it' }),
    status: t.field({ type: AmiCreationStatusEnum, resolve: (c) => c.status, description: 'Overall status' }),
    stage: t.field({ type: AmiCreationStageEnum, resolve: (c) => c.stage, description: 'Current step' }),
    progress: t.exposeInt('progress', { description: '0..100, never decreases' }),
    message: t.exposeString('message', { description: "Human-readable, e.g. 'Creating snapshot - 75% complete'" }),
    failureReason: t.exposeString('failureReason', { nullable: true, description: "EC2's reason, when something failed" }),
    noReboot: t.exposeBoolean('noReboot', { description: 'The instance was not rebooted for the image' }),
    public: t.exposeBoolean('public', { description: 'The AMI is to be public once available' }),
    shareWithAccounts: t.exposeStringList('shareAccounts', { description: 'Accounts granted launch permission' }),
    retention: t.field({
      type: RetentionType,
      nullable: true,
      description: "The template's retention this creation applies when it completes; null when none was asked for",
      resolve: (c) => (c.retentionKeepLatest === null ? null : { keepLatest: c.retentionKeepLatest }),
    }),
    encryption: t.field({
      type: EncryptionType,
      nullable: true,
      description: 'How the images are encrypted; null when they are not',
      resolve: (c) => (c.encrypt ? { kmsKeyId: c.kmsKeyId, regionKmsKeyIds: c.regionKmsKeyIds ?? {} } : null),
    }),
    deprecateAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (c) => c.deprecateAt,
      description: 'When the images are to be deprecated (EnableImageDeprecation on each)',
    }),
    deregistrationProtection: t.exposeBoolean('deregistrationProtection', {
      description: 'Deregistration protection is to be turned on for every image',
    }),
    requireImdsV2: t.exposeBoolean('requireImdsV2', {
      description: 'Instances launched from the images must use IMDSv2 (ImdsSupport v2.0)',
    }),
    ssmParameter: t.exposeString('ssmParameter', {
      nullable: true,
      description: "The SSM parameter that receives each image's id, in the image's region",
    }),
    tags: t.field({ type: [TagType], resolve: (c) => c.tags, description: 'User tags (system tags are not listed)' }),
    regions: t.field({
      type: [RegionCopyType],
      resolve: (c) => c.copies,
      description: 'One entry per copy target region (the source region is not listed)',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt, description: 'When the creation was requested' }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt, description: 'Last change' }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.completedAt, description: 'When it ended' }),
    elapsedSeconds: t.int({
      description: 'Seconds since the request (until it ended)',
      resolve: (c, _args, ctx) => Math.max(0, Math.floor(((c.completedAt ?? ctx.services.clock.now()) - c.createdAt) / 1000)),
    }),
    estimatedSecondsRemaining: t.int({
      nullable: true,
      description: 'Null when unknown or finished',
      resolve: (c) => (isTerminal(c.status) ? null : c.estimatedSecondsRemaining),
    }),
    cost: t.field({
      type: CostEstimateType,
      description: 'Storage and copy cost estimate',
      resolve: (c) =>
        estimateCost(
          c.sizeGiB,
          c.sourceRegion,
          c.copies.map((x) => x.region),
        ),
    }),
  }),
});

const AmiCreationConnection = connectionType('AmiCreation', AmiCreationType, 'AMI creation');

const CreateAmiInput = builder.inputType('CreateAmiInput', {
  description: 'What to capture and what to do with the AMI',
  fields: (t) => ({
    instance: t.string({ required: true, description: "An instance id (i-...) or the value of the instance's Name tag" }),
    name: t.string({ required: true, description: "AMI name: 3–128 letters, digits, spaces and ( ) [ ] . / - ' @ _" }),
    description: t.string({ description: 'AMI description (up to 255 characters)' }),
    templateName: t.string({ description: 'Template to associate the AMI with' }),
    noReboot: t.boolean({
      defaultValue: false,
      description: 'Do not reboot the instance (the file systems may be inconsistent)',
    }),
    public: t.boolean({ defaultValue: false, description: 'Make the AMI (and its copies) public once available' }),
    copyToRegions: t.stringList({ defaultValue: [], description: 'Regions to copy the AMI to once it is available' }),
    shareWithAccounts: t.stringList({ defaultValue: [], description: '12-digit AWS account ids to grant launch permission to' }),
    tags: t.field({ type: [TagInput], defaultValue: [], description: 'Tags for the AMI and its snapshots' }),
    idempotencyKey: t.string({ description: 'A retry with the same key returns the first creation instead of a new one' }),
    encryption: t.field({ type: EncryptionInput, description: 'Encrypt every resulting AMI with KMS keys' }),
    deprecateAt: t.field({
      type: 'DateTime',
      description: 'Deprecate the AMI and every copy at this time (in the future; EC2 rounds to the minute)',
    }),
    deregistrationProtection: t.boolean({
      defaultValue: false,
      description: 'Turn on deregistration protection for every image (protectAmi turns it off)',
    }),
    requireImdsV2: t.boolean({
      defaultValue: false,
      description: 'Instances launched from the images must use IMDSv2 (ImdsSupport v2.0)',
    }),
    ssmParameter: t.string({
      description:
        'Once each image is available, write its id to this SSM parameter in its region (DataType aws:ec2:image, overwritten), e.g. /prism/gpu-base/latest',
    }),
    retention: t.field({
      type: RetentionInput,
      description:
        'Once the AMI is available, deregister the older AMIs of templateName beyond the newest keepLatest (needs templateName)',
    }),
  }),
});

builder.queryFields((t) => ({
  amiCreation: t.field({
    type: AmiCreationType,
    nullable: true,
    description: "One of the viewer's creations by id",
    args: { id: t.arg.id({ required: true, description: 'The creation id' }) },
    resolve: (_root, args, ctx) => resolvers.amiCreation(ctx, String(args.id)),
  }),
  amiStatus: t.field({
    type: AmiCreationType,
    nullable: true,
    description: 'A creation id, or an AMI id (source or copy) that a creation produced',
    args: { ref: t.arg.string({ required: true, description: 'A creation id or an AMI id' }) },
    resolve: (_root, args, ctx) => resolvers.amiStatus(ctx, args.ref),
  }),
  amiCreations: t.field({
    type: AmiCreationConnection,
    description: "The viewer's creations, newest first",
    args: {
      first: t.arg.int({ description: 'Page size (default 20, at most 100)' }),
      after: t.arg.string({ description: 'endCursor of the previous page' }),
      status: t.arg({ type: AmiCreationStatusEnum, description: 'Only creations with this status' }),
    },
    resolve: (_root, args, ctx) => resolvers.amiCreations(ctx, args),
  }),
}));

builder.mutationFields((t) => ({
  createAmi: t.field({
    type: AmiCreationType,
    description: 'Capture an instance as an AMI; follow it with amiProgress',
    args: { input: t.arg({ type: CreateAmiInput, required: true, description: 'What to capture and what to do with the AMI' }) },
    errors: {
      types: [ValidationError, NotFoundError, ConflictError, InvalidStateError, ForbiddenError, Ec2Error],
      union: { name: 'CreateAmiResult', description: 'The createAmi outcome: success, or the typed reason it failed' },
      result: { name: 'CreateAmiSuccess', description: 'The createAmi succeeded' },
      dataField: { name: 'creation', description: 'The new (or, for a repeated idempotencyKey, the first) creation' },
    },
    resolve: (_root, args, ctx) =>
      resolvers.createAmi(ctx, {
        ...args.input,
        tags: args.input.tags ?? [],
      }),
  }),
  cancelAmiCreation: t.field({
    type: AmiCreationType,
    description: 'Stop a creation: deregister the images made so far and delete their snapshots',
    args: { id: t.arg.id({ required: true, description: 'The creation id' }) },
    errors: {
      types: [NotFoundError, InvalidStateError, ForbiddenError, Ec2Error],
      union: {
        name: 'CancelAmiCreationResult',
        description: 'The cancelAmiCreation outcome: success, or the typed reason it failed',
      },
      result: { name: 'CancelAmiCreationSuccess', description: 'The cancelAmiCreation succeeded' },
      dataField: { name: 'creation', description: 'The cancelled creation' },
    },
    resolve: (_root, args, ctx) => resolvers.cancelAmiCreation(ctx, String(args.id)),
  }),
}));

builder.subscriptionFields((t) => ({
  amiProgress: t.field({
    type: AmiCreationType,
    description: "The creation's current state at once, then every change; completes after a terminal status",
    args: { id: t.arg.id({ required: true, description: 'The creation id' }) },
    subscribe: (_root, args, ctx) => resolvers.amiProgress(ctx, String(args.id)),
    resolve: (creation) => creation,
  }),
  amiCreationChanges: t.field({
    type: AmiCreationType,
    description:
      "Every change of any of the viewer's own creations from now on, new ones included (made by any client); " +
      'never completes. Admins too get only their own creations. With statuses, only changes to one of them are sent',
    args: {
      statuses: t.arg({
        type: [AmiCreationStatusEnum],
        description: 'Send only changes whose status is one of these (all when omitted)',
      }),
    },
    subscribe: (_root, args, ctx) => resolvers.amiCreationChanges(ctx, args.statuses),
    resolve: (creation) => creation,
  }),
}));
