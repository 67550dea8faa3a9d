// Ami: one registered image in one region, with the list queries and the mutations that change
// who may launch it or remove it.
import type { AmiRecord } from '../../db/amis.js';
import type { AMI_VISIBILITIES } from '../../db/schema.js';
import type { AMI_STATES } from '../../db/schema.js';
import { Ec2Error, ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from '../../services/errors.js';
import { TAG_COMMUNITY, TAG_CREATION_ID, TAG_MANAGED, TAG_OWNER, TAG_TEMPLATE } from '../../services/system-tags.js';
import * as amiResolvers from '../../resolvers/amis.js';
import { creationOfAmi } from '../../resolvers/creations.js';
import { builder } from '../builder.js';
import { AmiCreationType } from './ami-creation.js';
import { connectionType, TagInput, TagType } from './common.js';

const SYSTEM_TAG_KEYS = new Set([TAG_CREATION_ID, TAG_MANAGED, TAG_OWNER, TAG_TEMPLATE, TAG_COMMUNITY]);

const AmiStateEnum = builder.enumType('AmiState', {
  description: 'State of a registered image',
  values: {
    PENDING: { description: 'EC2 is still making the image (snapshots or copy in progress)' },
    AVAILABLE: { description: 'Ready to launch' },
    FAILED: { description: 'EC2 could not make the image' },
    DEREGISTERED: { description: 'Removed; kept in history' },
  } satisfies Record<(typeof AMI_STATES)[number], { description: string }>,
});

const AmiVisibilityEnum = builder.enumType('AmiVisibility', {
  description: 'Who may launch the image',
  values: {
    PRIVATE: { description: 'Only the owning account' },
    SHARED: { description: 'The owning account and named accounts' },
    PUBLIC: { description: 'Everyone; listed in communityAmis' },
  } satisfies Record<(typeof AMI_VISIBILITIES)[number], { description: string }>,
});

export const AmiType = builder.objectRef<AmiRecord>('Ami').implement({
  description: 'One registered image in one region.',
  fields: (t) => ({
    id: t.exposeID('amiId', { description: 'The AMI id' }),
    amiId: t.exposeString('amiId', { description: 'The AMI id' }),
    region: t.exposeString('region', { description: 'Region the image is registered in' }),
    name: t.exposeString('name', { description: 'AMI name' }),
    description: t.exposeString('description', { nullable: true, description: 'AMI description' }),
    architecture: t.exposeString('architecture', { nullable: true, description: 'x86_64, arm64, …' }),
    state: t.field({ type: AmiStateEnum, resolve: (a) => a.state, description: 'Image state' }),
    visibility: t.field({ type: AmiVisibilityEnum, resolve: (a) => a.visibility, description: 'Who may launch it' }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt, description: 'When the image was registered' }),
    sizeGiB: t.exposeInt('sizeGiB', { nullable: true, description: 'Total size of its EBS volumes in GiB' }),
    templateName: t.exposeString('templateName', { nullable: true, description: 'Associated template' }),
    deregisteredReason: t.exposeString('deregisteredReason', {
      nullable: true,
      description: 'Why the service deregistered it on its own, e.g. retired by the retention of template X; null otherwise',
    }),
    encrypted: t.exposeBoolean('encrypted', { description: 'Its EBS snapshots are encrypted' }),
    kmsKeyId: t.exposeString('kmsKeyId', {
      nullable: true,
      description: 'The KMS key that encrypts its snapshots; null when unencrypted or the AWS managed key',
    }),
    deprecationTime: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (a) => a.deprecationTime,
      description: 'When EC2 deprecates (or deprecated) the image; null when not scheduled',
    }),
    deregistrationProtection: t.exposeBoolean('deregistrationProtection', {
      description: 'Deregistration protection is on: deregisterAmi refuses until protectAmi turns it off',
    }),
    imdsSupport: t.exposeString('imdsSupport', {
      nullable: true,
      description: "EC2's ImdsSupport: v2.0 when instances launched from it must use IMDSv2; null otherwise",
    }),
    ssmParameter: t.exposeString('ssmParameter', {
      nullable: true,
      description: "The SSM parameter in the image's region that holds its id, once written",
    }),
    publisher: t.exposeString('owner', { description: 'The prism-ami user who created it' }),
    tags: t.field({
      type: [TagType],
      description: "User tags (the service's own prism:* tags are not listed)",
      resolve: (a) => a.tags.filter((tag) => !SYSTEM_TAG_KEYS.has(tag.key)),
    }),
    creation: t.field({
      type: AmiCreationType,
      nullable: true,
      description: 'The creation job that produced it, where this service made it',
      resolve: (a, _args, ctx) => creationOfAmi(ctx, a.creationId),
    }),
  }),
});

const AmiConnection = connectionType('Ami', AmiType, 'AMI');

const AmiFilter = builder.inputType('AmiFilter', {
  description: 'Narrow a list of AMIs; every given criterion must match',
  fields: (t) => ({
    region: t.string({ description: 'Only this region' }),
    templateName: t.string({ description: 'Only AMIs of this template' }),
    nameContains: t.string({ description: 'Substring of the name (case-insensitive)' }),
    tags: t.field({ type: [TagInput], description: 'All of these tags must match' }),
    visibility: t.field({ type: AmiVisibilityEnum, description: 'Only this visibility' }),
    state: t.field({ type: AmiStateEnum, description: 'Only this state' }),
  }),
});

const listArgs = builder.args((t) => ({
  first: t.int({ description: 'Page size (default 20, at most 100)' }),
  after: t.string({ description: 'endCursor of the previous page' }),
  filter: t.field({ type: AmiFilter, description: 'Criteria' }),
}));

builder.queryFields((t) => ({
  userAmis: t.field({
    type: AmiConnection,
    description: "The viewer's own AMIs, one entry per region",
    args: listArgs,
    resolve: (_root, args, ctx) => amiResolvers.userAmis(ctx, args),
  }),
  communityAmis: t.field({
    type: AmiConnection,
    description: 'AMIs that any user published to the community',
    args: listArgs,
    resolve: (_root, args, ctx) => amiResolvers.communityAmis(ctx, args),
  }),
}));

const PublishAmiInput = builder.inputType('PublishAmiInput', {
  description: 'Make an AMI (and its copies) public, or private again',
  fields: (t) => ({
    amiId: t.string({ required: true, description: 'The AMI id (any region of the creation)' }),
    public: t.boolean({
      required: true,
      description: 'true: public and listed in communityAmis; false: private again and unlisted',
    }),
  }),
});

const ShareAmiInput = builder.inputType('ShareAmiInput', {
  description: 'Grant (or revoke) launch permission to accounts',
  fields: (t) => ({
    amiId: t.string({ required: true, description: 'The AMI id (any region of the creation)' }),
    accountIds: t.stringList({ required: true, description: '12-digit AWS account ids' }),
    revoke: t.boolean({
      defaultValue: false,
      description: "true removes these accounts' launch permission instead of adding it",
    }),
  }),
});

const DeregisterAmiInput = builder.inputType('DeregisterAmiInput', {
  description: "Remove one region's AMI",
  fields: (t) => ({
    amiId: t.string({ required: true, description: 'The AMI id' }),
    deleteSnapshots: t.boolean({ defaultValue: true, description: 'Also delete its EBS snapshots (stops their storage cost)' }),
  }),
});

const ProtectAmiInput = builder.inputType('ProtectAmiInput', {
  description: "Turn one region's deregistration protection on or off",
  fields: (t) => ({
    amiId: t.string({ required: true, description: 'The AMI id' }),
    enabled: t.boolean({
      required: true,
      description: 'true: deregisterAmi (and EC2 DeregisterImage) refuses the AMI; false: it may be deregistered again',
    }),
  }),
});

builder.mutationFields((t) => ({
  publishAmi: t.field({
    type: AmiType,
    description: 'Publish an AMI to the community (public launch permission) or unpublish it',
    args: { input: t.arg({ type: PublishAmiInput, required: true, description: 'The AMI and the visibility wanted' }) },
    errors: {
      types: [ValidationError, NotFoundError, InvalidStateError, ForbiddenError, Ec2Error],
      union: { name: 'PublishAmiResult', description: 'The publishAmi outcome: success, or the typed reason it failed' },
      result: { name: 'PublishAmiSuccess', description: 'The publishAmi succeeded' },
      dataField: { name: 'ami', description: 'The AMI as it is now' },
    },
    resolve: (_root, args, ctx) => amiResolvers.publishAmi(ctx, args.input),
  }),
  shareAmi: t.field({
    type: AmiType,
    description: 'Share an AMI (and its copies) with accounts, or revoke their access',
    args: { input: t.arg({ type: ShareAmiInput, required: true, description: 'The AMI and the accounts' }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, Ec2Error],
      union: { name: 'ShareAmiResult', description: 'The shareAmi outcome: success, or the typed reason it failed' },
      result: { name: 'ShareAmiSuccess', description: 'The shareAmi succeeded' },
      dataField: { name: 'ami', description: 'The AMI as it is now' },
    },
    resolve: (_root, args, ctx) => amiResolvers.shareAmi(ctx, args.input),
  }),
  deregisterAmi: t.field({
    type: AmiType,
    description: "Deregister one region's AMI (and delete its snapshots); it stays in history as DEREGISTERED",
    args: { input: t.arg({ type: DeregisterAmiInput, required: true, description: 'The AMI to remove' }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, InvalidStateError, Ec2Error],
      union: { name: 'DeregisterAmiResult', description: 'The deregisterAmi outcome: success, or the typed reason it failed' },
      result: { name: 'DeregisterAmiSuccess', description: 'The deregisterAmi succeeded' },
      dataField: { name: 'ami', description: 'The deregistered AMI' },
    },
    resolve: (_root, args, ctx) => amiResolvers.deregisterAmi(ctx, args.input),
  }),
  protectAmi: t.field({
    type: AmiType,
    description: "Turn one region's deregistration protection on or off (EC2's EnableImageDeregistrationProtection)",
    args: { input: t.arg({ type: ProtectAmiInput, required: true, description: 'The AMI and the protection wanted' }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, InvalidStateError, Ec2Error],
      union: { name: 'ProtectAmiResult', description: 'The protectAmi outcome: success, or the typed reason it failed' },
      result: { name: 'ProtectAmiSuccess', description: 'The protectAmi succeeded' },
      dataField: { name: 'ami', description: 'The AMI as it is now' },
    },
    resolve: (_root, args, ctx) => amiResolvers.protectAmi(ctx, args.input),
  }),
}));

builder.subscriptionFields((t) => ({
  amiChanges: t.field({
    type: AmiType,
    description:
      "The viewer's own AMIs whenever one becomes available (or fails), is published or unpublished, shared or " +
      'revoked, or deregistered (by the user, retention, a cancel or the reconciler); never completes. Admins too ' +
      'get only their own AMIs',
    subscribe: (_root, _args, ctx) => amiResolvers.amiChanges(ctx),
    resolve: (ami) => ami,
  }),
}));
