/** Instance and volume actions: Describe/Run/Stop/Start/TerminateInstances and DescribeVolumes. */
import type {
  BlockDeviceMapping,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  InstanceStateChange,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { Ec2ApiFault, errors } from '../errors.js';
import { applyFilters, paginate, type FilterTable } from '../filters.js';
import { assertIds, newId } from '../ids.js';
import { deviceName } from '../seed.js';
import {
  INSTANCE_STATE_CODES,
  imageStatus,
  instanceState,
  setInstanceState,
  type ImageRecord,
  type InstanceRecord,
  type InstanceStateName,
  type Tag,
  type VolumeRecord,
} from '../state.js';
import { instanceView, volumeView } from '../views.js';
import { shape } from '../model/index.js';
import { visibleImage } from './images.js';
import { assertKeyPair, launchSubnet } from './network.js';
import { tagsFromSpecs } from './tags.js';

/** EC2 keeps terminated instances visible for about an hour. */
const TERMINATED_VISIBLE_MS = 3_600_000;
const MAX_INSTANCES_PER_CALL = 20;

type Row = { inst: InstanceRecord; state: InstanceStateName };

const INSTANCE_FILTERS: FilterTable<Row> = {
  'instance-id': ({ inst }) => [inst.id],
  'instance-state-name': ({ state }) => [state],
  'instance-state-code': ({ state }) => [INSTANCE_STATE_CODES[state]],
  'instance-type': ({ inst }) => [inst.instanceType],
  'image-id': ({ inst }) => [inst.imageId],
  architecture: ({ inst }) => [inst.architecture],
  'availability-zone': ({ inst }) => [inst.availabilityZone],
  'private-ip-address': ({ inst }) => [inst.privateIp],
  'reservation-id': ({ inst }) => [inst.reservationId],
  'root-device-type': () => ['ebs'],
  'block-device-mapping.volume-id': ({ inst }) => inst.volumeIds,
  'subnet-id': ({ inst }) => [inst.subnetId],
  'vpc-id': ({ inst }) => [inst.vpcId],
  'key-name': ({ inst }) => [inst.keyName],
};

function visibleRows(ctx: ActionContext): Row[] {
  return [...ctx.store.instances.values()]
    .map((inst) => ({ inst, state: instanceState(inst, ctx.now) }))
    .filter(({ inst, state }) => state !== 'terminated' || (inst.transition?.at ?? 0) + TERMINATED_VISIBLE_MS > ctx.now);
}

export function describeInstances(ctx: ActionContext, input: DescribeInstancesRequest): DescribeInstancesResult {
  let rows = visibleRows(ctx);
  if (input.InstanceIds && input.InstanceIds.length > 0) {
    if (input.MaxResults !== undefined) {
      throw errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
    }
    const ids = input.InstanceIds;
    assertIds('i', ids);
    const missing = ids.filter((id) => !rows.some(({ inst }) => inst.id === id));
    if (missing.length > 0) throw errors.instanceNotFound(missing);
    rows = rows.filter(({ inst }) => ids.includes(inst.id));
  }
  const filtered = applyFilters(rows, input.Filters, INSTANCE_FILTERS, ({ inst }) => inst.tags);
  const page = paginate(filtered, ({ inst }) => inst.id, input, { min: 5, max: 1000 });

  // EC2 groups instances by the reservation (RunInstances call) that launched them.
  const reservations = new Map<string, Reservation>();
  for (const { inst } of page.items) {
    let r = reservations.get(inst.reservationId);
    if (!r) {
      r = { ReservationId: inst.reservationId, OwnerId: ctx.rt.accountId, Groups: [], Instances: [] };
      reservations.set(inst.reservationId, r);
    }
    r.Instances?.push(instanceView(inst, ctx.store, ctx.now, r.Instances.length));
  }
  return { Reservations: [...reservations.values()], NextToken: page.nextToken };
}

export function runInstances(ctx: ActionContext, input: RunInstancesRequest): Reservation {
  const { rt, store, now } = ctx;
  const image = launchableImage(ctx, input.ImageId);
  const count = instanceCount(input.MinCount ?? 1, input.MaxCount ?? 1);
  const tags = tagsFromSpecs(input.TagSpecifications, ['instance', 'volume']);
  const devices = launchDevices(image, input.BlockDeviceMappings ?? []);
  const subnet = launchSubnet(ctx, input.SubnetId);
  assertKeyPair(ctx, input.KeyName);

  const launch: Launch = {
    reservationId: newId('r'),
    image,
    devices,
    instanceType: launchInstanceType(input.InstanceType),
    availabilityZone: input.SubnetId ? subnet.availabilityZone : (input.Placement?.AvailabilityZone ?? subnet.availabilityZone),
    subnetId: subnet.id,
    vpcId: subnet.vpcId,
    keyName: input.KeyName,
    instanceTags: tags.get('instance') ?? [],
    volumeTags: tags.get('volume') ?? [],
  };
  const instances = Array.from({ length: count }, () => launchInstance(ctx, launch));
  return {
    ReservationId: launch.reservationId,
    OwnerId: rt.accountId,
    Groups: [],
    Instances: instances.map((inst, i) => instanceView(inst, store, now, i)),
  };
}

type LaunchDevice = { deviceName: string; sizeGiB: number; volumeType: string; snapshotId?: string };

/** What every instance of one RunInstances call shares. */
interface Launch {
  reservationId: string;
  image: ImageRecord;
  devices: LaunchDevice[];
  instanceType: string;
  availabilityZone: string;
  subnetId: string;
  vpcId: string;
  keyName: string | undefined;
  instanceTags: Tag[];
  volumeTags: Tag[];
}

/** EC2's own list of instance types (the model's InstanceType enum); EC2 defaults to m1.small, the simulator to t3.micro. */
const INSTANCE_TYPES: ReadonlySet<string> = new Set(shape('InstanceType').enum ?? []);

function launchInstanceType(type: string | undefined): string {
  if (type === undefined) return 't3.micro';
  if (!INSTANCE_TYPES.has(type)) throw errors.invalidParameterValue(`Invalid value '${type}' for InstanceType.`);
  return type;
}

function launchableImage(ctx: ActionContext, imageId: string | undefined): ImageRecord {
  if (!imageId) throw errors.missingParameter('ImageId');
  const image = visibleImage(ctx.rt, ctx.store, imageId);
  if (imageStatus(image, ctx.store, ctx.now).state !== 'available') {
    throw new Ec2ApiFault('InvalidAMIID.Unavailable', `The image id '[${image.id}]' is not available`);
  }
  return image;
}

/** EC2 launches as many as it can up to MaxCount, and refuses only when even MinCount is too many. */
function instanceCount(min: number, max: number): number {
  if (min < 1 || max < min) {
    throw errors.invalidParameterValue(`Invalid counts: MinCount ${min}, MaxCount ${max}`);
  }
  if (min > MAX_INSTANCES_PER_CALL) {
    throw new Ec2ApiFault(
      'InstanceLimitExceeded',
      `You have requested more instances (${min}) than your current instance limit of ${MAX_INSTANCES_PER_CALL} allows.`,
    );
  }
  return Math.min(max, MAX_INSTANCES_PER_CALL);
}

/** The image's mappings, with sizes/types overridden (or devices added) by BlockDeviceMappings. */
function launchDevices(image: ImageRecord, mappings: readonly BlockDeviceMapping[]): LaunchDevice[] {
  const devices: LaunchDevice[] = image.devices.map((d) => ({
    deviceName: d.deviceName,
    sizeGiB: d.sizeGiB,
    volumeType: d.volumeType,
    snapshotId: d.snapshotId,
  }));
  for (const m of mappings) {
    if (!m.DeviceName || !m.Ebs) continue;
    const existing = devices.find((d) => d.deviceName === m.DeviceName);
    const size = m.Ebs.VolumeSize;
    if (existing) {
      if (size !== undefined && size < existing.sizeGiB) {
        throw new Ec2ApiFault(
          'InvalidBlockDeviceMapping',
          `Volume of size ${size}GB is smaller than snapshot '${existing.snapshotId}', expect size >= ${existing.sizeGiB}GB`,
        );
      }
      existing.sizeGiB = size ?? existing.sizeGiB;
      existing.volumeType = m.Ebs.VolumeType ?? existing.volumeType;
    } else {
      if (size === undefined) throw errors.missingParameter(`BlockDeviceMapping ${m.DeviceName} Ebs.VolumeSize`);
      devices.push({ deviceName: m.DeviceName, sizeGiB: size, volumeType: m.Ebs.VolumeType ?? 'gp3' });
    }
  }
  if (devices.length === 0) devices.push({ deviceName: deviceName(0), sizeGiB: 8, volumeType: 'gp3' });
  return devices;
}

/** One instance and its attached volumes, stored; it turns running after EC2's pending delay. */
function launchInstance(ctx: ActionContext, launch: Launch): InstanceRecord {
  const { rt, store, now } = ctx;
  const id = newId('i');
  const volumeIds = launch.devices.map((d) => {
    const volume: VolumeRecord = {
      id: newId('vol'),
      sizeGiB: d.sizeGiB,
      volumeType: d.volumeType,
      ...(d.volumeType === 'gp3' && { iops: 3000, throughput: 125 }),
      availabilityZone: launch.availabilityZone,
      createdAt: now,
      ...(d.snapshotId !== undefined && { snapshotId: d.snapshotId }),
      attachment: { instanceId: id, device: d.deviceName, attachedAt: now, deleteOnTermination: true },
      tags: [...launch.volumeTags],
    };
    store.volumes.set(volume.id, volume);
    return volume.id;
  });
  const inst: InstanceRecord = {
    id,
    reservationId: launch.reservationId,
    imageId: launch.image.id,
    instanceType: launch.instanceType,
    architecture: launch.image.architecture,
    availabilityZone: launch.availabilityZone,
    privateIp: `172.31.${Math.floor(rt.random() * 250) + 1}.${Math.floor(rt.random() * 250) + 1}`,
    launchedAt: now,
    state: 'pending',
    rootDeviceName: launch.image.rootDeviceName,
    volumeIds,
    tags: [...launch.instanceTags],
    subnetId: launch.subnetId,
    vpcId: launch.vpcId,
    ...(launch.keyName !== undefined && { keyName: launch.keyName }),
  };
  setInstanceState(inst, now, 'pending', 'running');
  store.instances.set(id, inst);
  return inst;
}

/**
 * Shared by Stop/Start/Terminate: every id is resolved and every state checked before any instance
 * changes, so a call that fails changes nothing.
 */
function changeStates(
  ctx: ActionContext,
  ids: readonly string[] | undefined,
  verb: string,
  plan: (state: InstanceStateName) => 'noop' | 'refuse' | [InstanceStateName, InstanceStateName],
  after?: (inst: InstanceRecord) => void,
): InstanceStateChange[] {
  const list = ids ?? [];
  if (list.length === 0) throw errors.missingParameter('InstanceId');
  assertIds('i', list);
  const missing = list.filter((id) => !ctx.store.instances.has(id));
  if (missing.length > 0) throw errors.instanceNotFound(missing);
  const steps = list.map((id) => {
    const inst = ctx.store.instances.get(id) as InstanceRecord;
    const previous = instanceState(inst, ctx.now);
    const step = plan(previous);
    if (step === 'refuse') throw errors.incorrectInstanceState(id, previous, verb);
    return { inst, previous, step };
  });
  return steps.map(({ inst, previous, step }) => {
    if (step !== 'noop') {
      setInstanceState(inst, ctx.now, step[0], step[1]);
      after?.(inst);
    }
    const current = instanceState(inst, ctx.now);
    return {
      InstanceId: inst.id,
      PreviousState: { Code: INSTANCE_STATE_CODES[previous], Name: previous },
      CurrentState: { Code: INSTANCE_STATE_CODES[current], Name: current },
    };
  });
}

export function stopInstances(ctx: ActionContext, input: StopInstancesRequest): StopInstancesResult {
  return {
    StoppingInstances: changeStates(ctx, input.InstanceIds, 'stopped', (state) => {
      if (state === 'running') return ['stopping', 'stopped'];
      if (state === 'stopping' || state === 'stopped') return 'noop';
      return 'refuse';
    }),
  };
}

export function startInstances(ctx: ActionContext, input: StartInstancesRequest): StartInstancesResult {
  return {
    StartingInstances: changeStates(ctx, input.InstanceIds, 'started', (state) => {
      if (state === 'stopped') return ['pending', 'running'];
      if (state === 'pending' || state === 'running') return 'noop';
      return 'refuse';
    }),
  };
}

export function terminateInstances(ctx: ActionContext, input: TerminateInstancesRequest): TerminateInstancesResult {
  return {
    TerminatingInstances: changeStates(
      ctx,
      input.InstanceIds,
      'terminated',
      (state) => (state === 'shutting-down' || state === 'terminated' ? 'noop' : ['shutting-down', 'terminated']),
      (inst) => {
        // Volumes marked DeleteOnTermination go with the instance; the others are detached and stay.
        for (const volumeId of inst.volumeIds) {
          const v = ctx.store.volumes.get(volumeId);
          if (v?.attachment?.deleteOnTermination) ctx.store.volumes.delete(volumeId);
          else if (v) delete v.attachment;
        }
        inst.volumeIds = [];
      },
    ),
  };
}

type VolumeRow = VolumeRecord;

const VOLUME_FILTERS: FilterTable<VolumeRow> = {
  'volume-id': (v) => [v.id],
  'attachment.instance-id': (v) => [v.attachment?.instanceId],
  'attachment.device': (v) => [v.attachment?.device],
  'attachment.status': (v) => [v.attachment ? 'attached' : undefined],
  'attachment.delete-on-termination': (v) => [v.attachment?.deleteOnTermination],
  status: (v) => [v.attachment ? 'in-use' : 'available'],
  size: (v) => [v.sizeGiB],
  'volume-type': (v) => [v.volumeType],
  'availability-zone': (v) => [v.availabilityZone],
  'snapshot-id': (v) => [v.snapshotId],
  encrypted: () => [false],
};

export function describeVolumes(ctx: ActionContext, input: DescribeVolumesRequest): DescribeVolumesResult {
  let volumes = [...ctx.store.volumes.values()];
  if (input.VolumeIds && input.VolumeIds.length > 0) {
    const ids = input.VolumeIds;
    assertIds('vol', ids);
    const missing = ids.filter((id) => !ctx.store.volumes.has(id));
    if (missing.length > 0) throw errors.volumeNotFound(missing);
    volumes = volumes.filter((v) => ids.includes(v.id));
  }
  const filtered = applyFilters(volumes, input.Filters, VOLUME_FILTERS, (v) => v.tags);
  const page = paginate(filtered, (v) => v.id, input, { min: 5, max: 1000 });
  return { Volumes: page.items.map(volumeView), NextToken: page.nextToken };
}
