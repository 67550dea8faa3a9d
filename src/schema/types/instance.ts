// Instance: an EC2 instance of the source region the viewer may capture, with the `instances` list.
import type { InstancePage, InstanceSummary } from '../../services/instances.js';
import type { INSTANCE_STATES } from '../../services/instances.js';
import { Ec2Error, ForbiddenError, NotFoundError, ValidationError } from '../../services/errors.js';
import * as instanceResolvers from '../../resolvers/instances.js';
import { builder } from '../builder.js';
import { AmiType } from './ami.js';
import { PageInfoType } from './common.js';

const InstanceStateEnum = builder.enumType('InstanceState', {
  description: 'State of an EC2 instance (terminated instances are never listed)',
  values: {
    PENDING: { description: 'Starting; not yet capturable' },
    RUNNING: { description: 'Running; capturable' },
    STOPPING: { description: 'Stopping; not capturable until stopped' },
    STOPPED: { description: 'Stopped; capturable' },
    SHUTTING_DOWN: { description: 'Being terminated' },
  } satisfies Record<(typeof INSTANCE_STATES)[number], { description: string }>,
});

export const InstanceType = builder.objectRef<InstanceSummary>('Instance').implement({
  description: 'An EC2 instance the viewer may capture (or has just launched).',
  fields: (t) => ({
    instanceId: t.exposeString('instanceId', { description: 'The instance id (i-...)' }),
    name: t.exposeString('name', { nullable: true, description: 'Its Name tag' }),
    state: t.field({ type: InstanceStateEnum, resolve: (i) => i.state, description: 'Instance state' }),
    architecture: t.exposeString('architecture', { nullable: true, description: 'x86_64, arm64, …' }),
    region: t.exposeString('region', {
      description: "Region of the instance (the source region in the list; the AMI's region for a launch)",
    }),
    sizeGiB: t.exposeInt('sizeGiB', { description: 'Total size of its EBS volumes in GiB' }),
    owner: t.exposeString('owner', { nullable: true, description: 'The user its owner tag (prism:owner by default) names' }),
    launchedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was launched (EC2 LaunchTime)',
      resolve: (i) => (i.launchedAt ? new Date(i.launchedAt) : null),
    }),
    capturable: t.exposeBoolean('capturable', {
      description: 'Whether the viewer can create an AMI from it now (running or stopped, and theirs to capture)',
    }),
    capturableReason: t.exposeString('capturableReason', {
      nullable: true,
      description: 'Why it cannot be captured now (its state, or whose it is); null when capturable',
    }),
    storageMonthlyUsd: t.exposeFloat('storageMonthlyUsd', {
      description: 'Snapshot storage in USD per month of an AMI of it in its region (upper bound: full size)',
    }),
    lastAmi: t.field({
      type: AmiType,
      nullable: true,
      description: "The newest of the viewer's AMIs made from this instance by a creation",
      resolve: (i) => i.lastAmi ?? null,
    }),
  }),
});

const InstanceEdge = builder.objectRef<InstancePage['edges'][number]>('InstanceEdge').implement({
  description: 'One instance and its cursor',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque cursor of this edge' }),
    node: t.field({ type: InstanceType, resolve: (e) => e.node, description: 'The instance' }),
  }),
});

const InstanceConnection = builder.objectRef<InstancePage>('InstanceConnection').implement({
  description: "A page of instances, in EC2's order (no total: EC2 pages without counting)",
  fields: (t) => ({
    edges: t.field({ type: [InstanceEdge], description: 'The instances of this page', resolve: (c) => c.edges }),
    pageInfo: t.field({
      type: PageInfoType,
      description: 'Where this page is',
      resolve: (c) => ({
        hasNextPage: c.hasNextPage,
        hasPreviousPage: c.hasPreviousPage,
        startCursor: c.edges[0]?.cursor ?? null,
        endCursor: c.edges[c.edges.length - 1]?.cursor ?? null,
      }),
    }),
  }),
});

const InstanceFilter = builder.inputType('InstanceFilter', {
  description: 'Narrow the instance list; every given criterion must match',
  fields: (t) => ({
    state: t.field({ type: InstanceStateEnum, description: 'Only this state' }),
    nameContains: t.string({ description: 'Substring of the Name tag (case-sensitive, as EC2 matches it)' }),
  }),
});

builder.queryFields((t) => ({
  instances: t.field({
    type: InstanceConnection,
    description:
      'Instances of the source region the viewer may capture (all of them for admins and under INSTANCE_ACCESS=any), without terminated ones',
    args: {
      first: t.arg.int({ description: 'Page size (default 20, at most 100)' }),
      after: t.arg.string({ description: 'endCursor of the previous page' }),
      filter: t.arg({ type: InstanceFilter, description: 'Criteria' }),
    },
    resolve: (_root, args, ctx) => instanceResolvers.instances(ctx, args),
  }),
}));

builder.queryFields((t) => ({
  instance: t.field({
    type: InstanceType,
    nullable: true,
    description:
      "One instance by id, under the rules of `instances` (null when it does not exist, is terminated, or is not the viewer's)",
    args: {
      id: t.arg.string({ required: true, description: 'The instance id (i-...)' }),
      region: t.arg.string({ description: 'Its region (default: the source region); a launch answers it as Instance.region' }),
    },
    resolve: (_root, args, ctx) => instanceResolvers.instance(ctx, args),
  }),
}));

const LaunchInstanceInput = builder.inputType('LaunchInstanceInput', {
  description: 'Launch a workstation from an AMI',
  fields: (t) => ({
    amiId: t.string({ required: true, description: "The AMI id: one of the viewer's own AMIs or a community AMI, available" }),
    instanceType: t.string({ required: true, description: 'EC2 instance type (family.size), e.g. t3.micro or m7i-flex.large' }),
    name: t.string({ description: 'Name tag of the new instance (at most 255 characters)' }),
    subnetId: t.string({ description: "Subnet to launch in (subnet-...); default: the region's default subnet" }),
    keyName: t.string({ description: "EC2 key pair for SSH, which must exist in the AMI's region" }),
  }),
});

builder.mutationFields((t) => ({
  launchInstance: t.field({
    type: InstanceType,
    description:
      "Launch one instance from an AMI in the AMI's region, tagged with the viewer as its owner; it starts PENDING (follow it with instance(id))",
    args: { input: t.arg({ type: LaunchInstanceInput, required: true, description: 'What to launch, and how' }) },
    errors: {
      types: [ValidationError, NotFoundError, ForbiddenError, Ec2Error],
      union: { name: 'LaunchInstanceResult', description: 'The launchInstance outcome: success, or the typed reason it failed' },
      result: { name: 'LaunchInstanceSuccess', description: 'The launchInstance succeeded' },
      dataField: { name: 'instance', description: 'The new instance, as EC2 answered the launch (PENDING)' },
    },
    resolve: (_root, args, ctx) => instanceResolvers.launchInstance(ctx, args.input),
  }),
}));
