/** DescribeSnapshots, DeleteSnapshot and the snapshot's create-volume permission attribute. */
import type {
  CreateVolumePermission,
  DeleteSnapshotRequest,
  DescribeSnapshotAttributeRequest,
  DescribeSnapshotAttributeResult,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  ModifySnapshotAttributeRequest,
} from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { Ec2ApiFault, errors } from '../errors.js';
import { applyFilters, paginate, type FilterTable } from '../filters.js';
import { assertIds } from '../ids.js';
import { snapshotStatus, type SnapshotRecord, type SnapshotStatus } from '../state.js';
import { snapshotView } from '../views.js';

type Row = { snap: SnapshotRecord; status: SnapshotStatus };

const SNAPSHOT_FILTERS: FilterTable<Row> = {
  'snapshot-id': ({ snap }) => [snap.id],
  'volume-id': ({ snap }) => [snap.volumeId],
  status: ({ status }) => [status.state],
  progress: ({ status }) => [`${Math.floor(status.fraction * 100)}%`],
  'owner-id': ({ snap }) => [snap.ownerId],
  'owner-alias': ({ snap }) => [snap.ownerAlias],
  description: ({ snap }) => [snap.description],
  'volume-size': ({ snap }) => [snap.sizeGiB],
  encrypted: ({ snap }) => [snap.kmsKeyId !== undefined],
  'start-time': ({ snap }) => [new Date(snap.startedAt).toISOString()],
  'storage-tier': () => ['standard'],
};

export function describeSnapshots(ctx: ActionContext, input: DescribeSnapshotsRequest): DescribeSnapshotsResult {
  const { rt, store, now } = ctx;
  // Visible: own snapshots and public ones (EC2 lists every snapshot you may restore from).
  let snaps = [...store.snapshots.values()].filter((s) => s.ownerId === rt.accountId || s.public);
  if (input.SnapshotIds && input.SnapshotIds.length > 0) {
    const ids = input.SnapshotIds;
    assertIds('snap', ids);
    // As with DescribeImages: explicit ids must all exist; the snapshot-id filter just matches.
    const missing = ids.filter((id) => !snaps.some((s) => s.id === id));
    if (missing.length > 0) throw errors.snapshotNotFound(missing);
    snaps = snaps.filter((s) => ids.includes(s.id));
  }
  if (input.OwnerIds && input.OwnerIds.length > 0) {
    const owners = input.OwnerIds;
    snaps = snaps.filter((s) =>
      owners.some((o) => (o === 'self' ? s.ownerId === rt.accountId : o === s.ownerId || o === s.ownerAlias)),
    );
  }
  const rows = snaps.map((snap) => ({ snap, status: snapshotStatus(snap, now) }));
  const filtered = applyFilters(rows, input.Filters, SNAPSHOT_FILTERS, ({ snap }) => snap.tags);
  const page = paginate(filtered, ({ snap }) => snap.id, input, { min: 5, max: 1000 });
  return { Snapshots: page.items.map(({ snap }) => snapshotView(snap, now)), NextToken: page.nextToken };
}

export function deleteSnapshot(ctx: ActionContext, input: DeleteSnapshotRequest): void {
  const { rt, store } = ctx;
  const id = input.SnapshotId ?? '';
  assertIds('snap', [id]);
  const snap = store.snapshots.get(id);
  if (!snap || (snap.ownerId !== rt.accountId && !snap.public)) throw errors.snapshotNotFound([id]);
  if (snap.ownerId !== rt.accountId) throw errors.unauthorized();
  const user = [...store.images.values()].find((image) => image.devices.some((d) => d.snapshotId === id));
  if (user) throw new Ec2ApiFault('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${user.id}`);
  store.snapshots.delete(id);
}

/** A snapshot this account owns: only the owner may read or change its attributes. */
function ownSnapshot(ctx: ActionContext, id: string): SnapshotRecord {
  assertIds('snap', [id]);
  const snap = ctx.store.snapshots.get(id);
  if (!snap || (snap.ownerId !== ctx.rt.accountId && !snap.public)) throw errors.snapshotNotFound([id]);
  if (snap.ownerId !== ctx.rt.accountId) throw errors.unauthorized();
  return snap;
}

const ACCOUNT_ID = /^\d{12}$/;

export function modifySnapshotAttribute(ctx: ActionContext, input: ModifySnapshotAttributeRequest): void {
  const snap = ownSnapshot(ctx, input.SnapshotId ?? '');
  const attribute = input.Attribute ?? (input.CreateVolumePermission ? 'createVolumePermission' : undefined);
  if (attribute !== 'createVolumePermission') {
    throw errors.invalidParameterValue(
      `Value (${attribute ?? ''}) for parameter attribute is invalid. Only createVolumePermission is supported`,
    );
  }
  const add = [...(input.CreateVolumePermission?.Add ?? [])];
  const remove = [...(input.CreateVolumePermission?.Remove ?? [])];
  // The older form: OperationType + UserId.N / UserGroup.N.
  const legacy: CreateVolumePermission[] = [
    ...(input.UserIds ?? []).map((UserId) => ({ UserId })),
    // Any group name is carried through so that the check below can reject it as EC2 does.
    ...(input.GroupNames ?? []).map((Group) => ({ Group: Group as CreateVolumePermission['Group'] })),
  ];
  if (input.OperationType === 'add') add.push(...legacy);
  if (input.OperationType === 'remove') remove.push(...legacy);
  for (const p of [...add, ...remove]) {
    if (p.Group !== undefined && p.Group !== 'all') throw errors.invalidParameterValue(`Invalid group ${String(p.Group)}`);
    if (p.UserId !== undefined && !ACCOUNT_ID.test(p.UserId)) {
      throw errors.invalidParameterValue(`Invalid user id ${p.UserId}: account ids are 12 digits`);
    }
  }
  const users = new Set(snap.createVolumeUserIds ?? []);
  for (const p of add) {
    if (p.Group === 'all') snap.public = true;
    if (p.UserId) users.add(p.UserId);
  }
  for (const p of remove) {
    if (p.Group === 'all') snap.public = false;
    if (p.UserId) users.delete(p.UserId);
  }
  snap.createVolumeUserIds = [...users].sort();
}

export function describeSnapshotAttribute(
  ctx: ActionContext,
  input: DescribeSnapshotAttributeRequest,
): DescribeSnapshotAttributeResult {
  const snap = ownSnapshot(ctx, input.SnapshotId ?? '');
  if (input.Attribute !== 'createVolumePermission') {
    throw errors.invalidParameterValue(`Value (${input.Attribute ?? ''}) for parameter attribute is invalid`);
  }
  return {
    SnapshotId: snap.id,
    CreateVolumePermissions: [
      ...(snap.public ? [{ Group: 'all' as const }] : []),
      ...(snap.createVolumeUserIds ?? []).map((UserId) => ({ UserId })),
    ],
  };
}
