/**
 * Responsible for the simulator's model: per-region stores of instances, volumes, snapshots and
 * images, and their lifecycle.
 *
 * Nothing here runs on a timer. Records keep absolute times (ms) and every state the outside sees
 * (snapshot progress, image pending/available/failed, instance pending/running) is computed from the
 * clock on read. That keeps the model plain JSON (persistence is a dump), lets tests drive time with
 * an injected clock, and makes a restart resume in-flight snapshots exactly where the clock says.
 */
export interface Tag {
  Key: string;
  Value: string;
}

export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface InstanceRecord {
  id: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  availabilityZone: string;
  privateIp: string;
  launchedAt: number;
  /** State as last set; `transition` finishes it (e.g. stopping → stopped) once its time has come. */
  state: InstanceStateName;
  transition?: { to: InstanceStateName; at: number };
  rootDeviceName: string;
  volumeIds: string[];
  tags: Tag[];
  /** Where RunInstances put it (seeded instances have none). */
  subnetId?: string;
  vpcId?: string;
  keyName?: string;
}

export interface KeyPairRecord {
  id: string;
  name: string;
  type: string;
  fingerprint: string;
  createdAt: number;
  tags: Tag[];
}

export interface VolumeRecord {
  id: string;
  sizeGiB: number;
  volumeType: string;
  iops?: number;
  throughput?: number;
  availabilityZone: string;
  createdAt: number;
  snapshotId?: string;
  attachment?: { instanceId: string; device: string; attachedAt: number; deleteOnTermination: boolean };
  tags: Tag[];
}

export interface SnapshotRecord {
  id: string;
  ownerId: string;
  ownerAlias?: string;
  volumeId: string;
  sizeGiB: number;
  description: string;
  startedAt: number;
  /**
   * Progress is linear from this anchor: fraction(now) = fraction + (now - at) × speed / size.
   * Changing the speed at runtime re-anchors pending snapshots, so progress never jumps backwards.
   */
  anchor: { at: number; fraction: number; speedGiBPerSecond: number };
  /** Set when the fault injector decided this snapshot fails: it errors on reaching this fraction. */
  failAtFraction?: number;
  public?: boolean;
  /** Accounts granted create-volume permission (so they can copy images built on it). */
  createVolumeUserIds?: string[];
  /** The key ARN EBS encrypted it with (CopyImage Encrypted); absent for an unencrypted snapshot. */
  kmsKeyId?: string;
  tags: Tag[];
}

export type LaunchPermissionRecord = { group: 'all' } | { userId: string };

export interface ImageDevice {
  deviceName: string;
  snapshotId: string;
  sizeGiB: number;
  volumeType: string;
  deleteOnTermination: boolean;
  /** Copied from the snapshot: the image's mapping shows Encrypted and KmsKeyId as EC2 does. */
  kmsKeyId?: string;
}

export interface ImageRecord {
  id: string;
  ownerId: string;
  ownerAlias?: string;
  name: string;
  description?: string;
  architecture: 'x86_64' | 'arm64';
  createdAt: number;
  rootDeviceName: string;
  devices: ImageDevice[];
  launchPermissions: LaunchPermissionRecord[];
  tags: Tag[];
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceRegion?: string;
  /** EnableImageDeprecation's time (ms, rounded to the minute); absent when not deprecated. */
  deprecateAt?: number;
  deregistrationProtection?: DeregistrationProtectionRecord;
  /** ModifyImageAttribute ImdsSupport: once set to v2.0 it cannot be unset, as on EC2. */
  imdsSupport?: 'v2.0';
}

/**
 * Enabled (optionally with the 24-hour cooldown), or disabled with a cooldown still running until
 * `until`: EC2 keeps such an image protected until then.
 */
export type DeregistrationProtectionRecord = { enabled: true; cooldown: boolean } | { enabled: false; until: number };

export const DEREGISTRATION_COOLDOWN_MS = 24 * 60 * 60 * 1000;

/** DescribeImages' DeregistrationProtection, as EC2 prints it. */
export function deregistrationProtectionText(image: ImageRecord, now: number): string {
  const p = image.deregistrationProtection;
  if (!p) return 'disabled';
  if (p.enabled) return p.cooldown ? 'enabled-with-cooldown' : 'enabled';
  return now < p.until ? `disabled-until-${new Date(p.until).toISOString()}` : 'disabled';
}

export function isDeregistrationProtected(image: ImageRecord, now: number): boolean {
  const p = image.deregistrationProtection;
  return p !== undefined && (p.enabled || now < p.until);
}

export const isDeprecated = (image: ImageRecord, now: number): boolean =>
  image.deprecateAt !== undefined && image.deprecateAt <= now;

export interface CopyTokenRecord {
  imageId: string;
  sourceImageId: string;
  sourceRegion: string;
  name: string;
  /** The key ARN the copy was encrypted with (absent: unencrypted, or a token from an older state file). */
  kmsKeyId?: string;
}

export interface RegionStore {
  instances: Map<string, InstanceRecord>;
  volumes: Map<string, VolumeRecord>;
  snapshots: Map<string, SnapshotRecord>;
  images: Map<string, ImageRecord>;
  /** CopyImage ClientToken → the copy it created (idempotency is per destination region). */
  copyTokens: Map<string, CopyTokenRecord>;
  /** Key pairs by name (EC2's KeyName is unique per region). */
  keyPairs: Map<string, KeyPairRecord>;
  /** SSM Parameter Store, by name (SSM is regional, like EC2). */
  parameters: Map<string, ParameterRecord>;
}

export interface ParameterRecord {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  dataType: 'text' | 'aws:ec2:image';
  /** 1 on creation, +1 on every overwrite. */
  version: number;
  lastModifiedAt: number;
  description?: string;
  tags: Tag[];
}

export function emptyRegion(): RegionStore {
  return {
    instances: new Map(),
    volumes: new Map(),
    snapshots: new Map(),
    images: new Map(),
    copyTokens: new Map(),
    keyPairs: new Map(),
    parameters: new Map(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Lifecycle, computed from the clock

export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** Launch, stop, start and terminate each take this long, like a quick EC2 instance. */
export const INSTANCE_TRANSITION_MS = 2_000;

export function instanceState(rec: InstanceRecord, now: number): InstanceStateName {
  return rec.transition && now >= rec.transition.at ? rec.transition.to : rec.state;
}

/** Makes `state` visible now and, with `then`, the state it settles into after INSTANCE_TRANSITION_MS. */
export function setInstanceState(rec: InstanceRecord, now: number, state: InstanceStateName, then?: InstanceStateName): void {
  rec.state = state;
  if (then) rec.transition = { to: then, at: now + INSTANCE_TRANSITION_MS };
  else delete rec.transition;
}

export interface SnapshotStatus {
  state: 'pending' | 'completed' | 'error';
  /** 0..1 */
  fraction: number;
}

export function snapshotStatus(snap: SnapshotRecord, now: number): SnapshotStatus {
  const { at, fraction, speedGiBPerSecond } = snap.anchor;
  const elapsedSeconds = Math.max(0, now - at) / 1000;
  const size = Math.max(snap.sizeGiB, 1);
  const current = Math.min(1, fraction + (elapsedSeconds * speedGiBPerSecond) / size);
  if (snap.failAtFraction !== undefined && current >= snap.failAtFraction) {
    return { state: 'error', fraction: snap.failAtFraction };
  }
  return current >= 1 ? { state: 'completed', fraction: 1 } : { state: 'pending', fraction: current };
}

/** When the snapshot finished (for CompletionTime), or undefined while it has not. */
export function snapshotCompletedAt(snap: SnapshotRecord, now: number): number | undefined {
  if (snapshotStatus(snap, now).state !== 'completed') return undefined;
  const { at, fraction, speedGiBPerSecond } = snap.anchor;
  return at + (((1 - fraction) * Math.max(snap.sizeGiB, 1)) / speedGiBPerSecond) * 1000;
}

/** Re-anchors every unfinished snapshot at `now`, so a new speed applies from now on. */
export function changeSpeed(region: RegionStore, now: number, speedGiBPerSecond: number): void {
  for (const snap of region.snapshots.values()) {
    const status = snapshotStatus(snap, now);
    if (status.state !== 'pending') continue;
    snap.anchor = { at: now, fraction: status.fraction, speedGiBPerSecond };
  }
}

export interface ImageStatus {
  state: 'pending' | 'available' | 'failed';
  stateReason?: { Code: string; Message: string };
}

export function imageStatus(image: ImageRecord, region: RegionStore, now: number): ImageStatus {
  let pending = false;
  for (const device of image.devices) {
    const snap = region.snapshots.get(device.snapshotId);
    // A snapshot can vanish only if deleted from under a non-registered image; treat as complete.
    if (!snap) continue;
    const status = snapshotStatus(snap, now);
    if (status.state === 'error') {
      return {
        state: 'failed',
        stateReason: {
          Code: 'Server.InternalError',
          Message: `Snapshot creation failed: ${snap.id} could not be completed (simulated EBS failure at ${Math.floor(status.fraction * 100)}%)`,
        },
      };
    }
    if (status.state === 'pending') pending = true;
  }
  return { state: pending ? 'pending' : 'available' };
}

export function isPublic(image: ImageRecord): boolean {
  return image.launchPermissions.some((p) => 'group' in p && p.group === 'all');
}

// ---------------------------------------------------------------------------------------------------
// Persistence format: Maps become arrays of records.

export interface PersistedRegion {
  instances: InstanceRecord[];
  volumes: VolumeRecord[];
  snapshots: SnapshotRecord[];
  images: ImageRecord[];
  copyTokens: [string, CopyTokenRecord][];
  /** Absent in files written before key pairs existed. */
  keyPairs?: KeyPairRecord[];
  /** Absent in files written before SSM parameters existed. */
  parameters?: ParameterRecord[];
}

export function dumpRegion(r: RegionStore): PersistedRegion {
  return {
    instances: [...r.instances.values()],
    volumes: [...r.volumes.values()],
    snapshots: [...r.snapshots.values()],
    images: [...r.images.values()],
    copyTokens: [...r.copyTokens.entries()],
    keyPairs: [...r.keyPairs.values()],
    parameters: [...r.parameters.values()],
  };
}

export function loadRegion(p: PersistedRegion): RegionStore {
  const byId = <T extends { id: string }>(items: T[]): Map<string, T> => new Map(items.map((i) => [i.id, i]));
  return {
    instances: byId(p.instances),
    volumes: byId(p.volumes),
    snapshots: byId(p.snapshots),
    images: byId(p.images),
    copyTokens: new Map(p.copyTokens),
    keyPairs: new Map((p.keyPairs ?? []).map((k) => [k.name, k])),
    parameters: new Map((p.parameters ?? []).map((param) => [param.name, param])),
  };
}
