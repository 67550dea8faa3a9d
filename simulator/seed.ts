/**
 * Responsible for what a fresh simulator contains: the commercial regions it answers for, two public
 * Amazon Linux base images per region (so RunInstances has something real to launch from), and, in
 * the default region only, three named instances a newcomer can capture at once.
 *
 * Ids are fixed so docs, demos and tests can name them; they are valid EC2 ids (17 hex digits).
 */
import type { ImageRecord, InstanceRecord, RegionStore, SnapshotRecord, VolumeRecord } from './state.js';
import { emptyRegion } from './state.js';

export const DEFAULT_REGION = 'us-east-1';

export const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
] as const;

export const AMAZON_OWNER_ID = '137112412989';

export const BASE_IMAGES = {
  x86_64: 'ami-0a1b2c3d4e5f6a001',
  arm64: 'ami-0a1b2c3d4e5f6a002',
} as const;

export const SEEDED_INSTANCES = {
  'demo-workstation': 'i-0a1b2c3d4e5f60001',
  'genomics-pipeline': 'i-0a1b2c3d4e5f60002',
  'teaching-env': 'i-0a1b2c3d4e5f60003',
} as const;

/**
 * The seeded instances belong to prism-ami's local user under its default owner tag, so that
 * `npm start` and the dashboard can capture them out of the box (spelled here: the simulator
 * imports nothing of the server).
 */
export const SEEDED_OWNER_TAG = { Key: 'prism:owner', Value: 'local' } as const;

const DAY_MS = 86_400_000;

function baseImages(now: number): { images: ImageRecord[]; snapshots: SnapshotRecord[] } {
  const images: ImageRecord[] = [];
  const snapshots: SnapshotRecord[] = [];
  for (const [arch, imageId] of Object.entries(BASE_IMAGES) as ['x86_64' | 'arm64', string][]) {
    const snapshotId = imageId.replace('ami-', 'snap-');
    const createdAt = now - 30 * DAY_MS;
    snapshots.push({
      id: snapshotId,
      ownerId: AMAZON_OWNER_ID,
      ownerAlias: 'amazon',
      volumeId: 'vol-ffffffff',
      sizeGiB: 8,
      description: `Amazon Linux 2023 ${arch} root volume`,
      startedAt: createdAt,
      anchor: { at: createdAt, fraction: 1, speedGiBPerSecond: 1 },
      public: true,
      tags: [],
    });
    images.push({
      id: imageId,
      ownerId: AMAZON_OWNER_ID,
      ownerAlias: 'amazon',
      name: `al2023-ami-2023.6.20241111.0-kernel-6.1-${arch}`,
      description: 'Amazon Linux 2023 AMI 2023.6.20241111.0 ' + arch + ' HVM kernel-6.1',
      architecture: arch,
      createdAt,
      rootDeviceName: '/dev/xvda',
      devices: [{ deviceName: '/dev/xvda', snapshotId, sizeGiB: 8, volumeType: 'gp3', deleteOnTermination: true }],
      launchPermissions: [{ group: 'all' }],
      tags: [],
      // Amazon Linux 2023 images require IMDSv2, as the real ones do; images made from instances do not.
      imdsSupport: 'v2.0',
    });
  }
  return { images, snapshots };
}

interface SeedInstance {
  name: keyof typeof SEEDED_INSTANCES;
  state: 'running' | 'stopped';
  architecture: 'x86_64' | 'arm64';
  instanceType: string;
  volumesGiB: number[];
}

const SEED: SeedInstance[] = [
  { name: 'demo-workstation', state: 'running', architecture: 'x86_64', instanceType: 't3.large', volumesGiB: [30] },
  {
    name: 'genomics-pipeline',
    state: 'running',
    architecture: 'arm64',
    instanceType: 'r7g.2xlarge',
    volumesGiB: [50, 200],
  },
  { name: 'teaching-env', state: 'stopped', architecture: 'x86_64', instanceType: 't3.medium', volumesGiB: [16] },
];

const DEVICE_NAMES = ['/dev/xvda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde', '/dev/sdf'];
export const deviceName = (index: number): string => DEVICE_NAMES[index] ?? `/dev/sd${String.fromCharCode(98 + index)}`;

function seededInstances(region: string, now: number): { instances: InstanceRecord[]; volumes: VolumeRecord[] } {
  const instances: InstanceRecord[] = [];
  const volumes: VolumeRecord[] = [];
  let volumeSeq = 0;
  SEED.forEach((seed, index) => {
    const id = SEEDED_INSTANCES[seed.name];
    const launchedAt = now - (index + 1) * DAY_MS;
    const availabilityZone = `${region}a`;
    const volumeIds = seed.volumesGiB.map((sizeGiB, v) => {
      const volumeId = `vol-0a1b2c3d4e5f6${String(++volumeSeq).padStart(4, '0')}`;
      volumes.push({
        id: volumeId,
        sizeGiB,
        volumeType: 'gp3',
        iops: 3000,
        throughput: 125,
        availabilityZone,
        createdAt: launchedAt,
        snapshotId: v === 0 ? BASE_IMAGES[seed.architecture].replace('ami-', 'snap-') : undefined,
        attachment: { instanceId: id, device: deviceName(v), attachedAt: launchedAt, deleteOnTermination: true },
        tags: [{ Key: 'Name', Value: `${seed.name}-${v === 0 ? 'root' : `data${v}`}` }],
      });
      return volumeId;
    });
    instances.push({
      id,
      reservationId: id.replace('i-', 'r-'),
      imageId: BASE_IMAGES[seed.architecture],
      instanceType: seed.instanceType,
      architecture: seed.architecture,
      availabilityZone,
      privateIp: `172.31.16.${10 + index}`,
      launchedAt,
      state: seed.state,
      rootDeviceName: '/dev/xvda',
      volumeIds,
      tags: [{ Key: 'Name', Value: seed.name }, { ...SEEDED_OWNER_TAG }],
    });
  });
  return { instances, volumes };
}

/** A region as a fresh simulator has it. */
export function seedRegion(region: string, now: number): RegionStore {
  const store = emptyRegion();
  const base = baseImages(now);
  for (const image of base.images) store.images.set(image.id, image);
  for (const snap of base.snapshots) store.snapshots.set(snap.id, snap);
  if (region === DEFAULT_REGION) {
    const seeded = seededInstances(region, now);
    for (const i of seeded.instances) store.instances.set(i.id, i);
    for (const v of seeded.volumes) store.volumes.set(v.id, v);
  }
  return store;
}
