// Responsible for every change to a creation's row and its copies' rows: named transitions, each
// guarded by the status it needs (only while active, only while cancelling, only if cancelled),
// written in one short transaction and then published to the creation's subscribers with the full
// current record. Nothing else writes creations or publishes their events, so no caller can forget
// to respect a cancel or to notify subscribers. Each guard is checked by the transaction's first
// UPDATE (db/creations.ts), so replicas changing one creation at once never undo each other.
import { updateAmi, upsertAmi, type AmiPatch } from '../../db/amis.js';
import {
  deleteCreation,
  findCreation,
  insertCreation,
  updateCreation,
  type CopyPatch,
  type CreationPatch,
  type CreationRecord,
  type Guard,
  type TagRow,
} from '../../db/creations.js';
import type { Store } from '../../db/store.js';
import { isTerminal, type CreationStatus, type NewCreationRow } from '../../db/schema.js';
import { pendingAmi } from '../ami-records.js';
import { announceAmis } from '../ami-events.js';
import { creationTopic, ownerCreationsTopic, type ServiceDeps } from '../context.js';
import { imageTags } from '../system-tags.js';

export { isTerminal };

/**
 * Whether a creation has nothing more to tell its subscribers: a terminal status, and for a cancel
 * the clean-up done (a cancel still removing images says so once more when it has finished).
 */
export function hasEnded(c: Pick<CreationRecord, 'status' | 'completedAt'>): boolean {
  return isTerminal(c.status) && !(c.status === 'CANCELLED' && c.completedAt === null);
}

export type LifecycleDeps = Pick<ServiceDeps, 'db' | 'events' | 'clock'>;

export interface CopyChange {
  region: string;
  patch: CopyPatch;
}

const CANCELLING_MESSAGE = 'Cancelling: removing the images made so far';

/** Write under a guard; publish the record only when the guard passed. */
async function transition(
  deps: LifecycleDeps,
  id: string,
  guard: Guard,
  patch: CreationPatch,
  copies: CopyChange[] = [],
  also?: (tx: Store) => Promise<void>,
): Promise<boolean> {
  const applied = await updateCreation(deps.db, id, patch, copies, { guard, ...(also ? { also } : {}) });
  if (applied) await publish(deps, id);
  return applied;
}

/** Tell the creation's subscribers its full current state, so that one who missed an event loses nothing. */
async function publish(deps: LifecycleDeps, id: string): Promise<CreationRecord | undefined> {
  const record = await findCreation(deps.db, id);
  if (record) {
    deps.events.publish(creationTopic(id), record);
    // The owner's viewer-wide stream (amiCreationChanges) hears every change too, new creations included.
    deps.events.publish(ownerCreationsTopic(record.owner), record);
  }
  return record;
}

/** A new creation, recorded before EC2 is asked for anything so that a crash loses nothing. */
export async function record(
  deps: LifecycleDeps,
  row: NewCreationRow,
  tags: TagRow[],
  copyRegions: string[],
): Promise<CreationRecord> {
  await insertCreation(deps.db, row, tags, copyRegions);
  return (await publish(deps, row.id))!;
}

/**
 * EC2 refused CreateImage: no image exists, so nothing remains of the request. The owner's stream
 * (amiCreationChanges) was told of the new creation by `record`, so it is told of its end too: as
 * FAILED with EC2's reason, the last word on a row that no longer exists.
 */
export async function discard(deps: LifecycleDeps, id: string, reason: string): Promise<void> {
  const last = await findCreation(deps.db, id);
  await deleteCreation(deps.db, id);
  if (!last) return;
  const now = deps.clock.now();
  const ended = { ...last, status: 'FAILED' as const, message: reason, failureReason: reason, completedAt: now, updatedAt: now };
  deps.events.publish(ownerCreationsTopic(last.owner), ended);
}

/** CreateImage is about to be sent (again); a later look for its image waits a while after this. */
export function markImageRequested(deps: LifecycleDeps, id: string): Promise<boolean> {
  const now = deps.clock.now();
  return transition(deps, id, 'active', { imageRequestedAt: now, updatedAt: now });
}

/** CreateImage's outcome is unknown: the tracker adopts the image by its tag or name, or asks again. */
export function awaitImageConfirmation(deps: LifecycleDeps, id: string): Promise<boolean> {
  return transition(deps, id, 'active', { message: 'Waiting for EC2 to confirm the image request', updatedAt: deps.clock.now() });
}

/** EC2 made the source image: the creation snapshots it, and the AMI row exists (pending). */
export function recordSourceImage(deps: LifecycleDeps, c: CreationRecord, amiId: string): Promise<boolean> {
  const now = deps.clock.now();
  const patch: CreationPatch = {
    amiId,
    status: 'IN_PROGRESS',
    stage: 'SNAPSHOTTING',
    message: 'Creating snapshot - 0% complete',
    updatedAt: now,
  };
  return transition(deps, c.id, 'active', patch, [], (tx) =>
    upsertAmi(tx, pendingAmi(c, amiId, c.sourceRegion, now), imageTags(c)),
  );
}

/**
 * CopyImage is about to be sent to one region: after a crash, its copy is looked for before asking
 * again. A queued copy keeps its "Queued: …" message, so that a probe of the limit does not flicker.
 */
export function requestCopy(deps: LifecycleDeps, id: string, region: string, queued = false): Promise<boolean> {
  const patch: CopyPatch = { startedAt: deps.clock.now(), ...(queued ? {} : { message: 'Requesting the copy' }) };
  return transition(deps, id, 'active', {}, [{ region, patch }]);
}

/**
 * EC2 refused the copy for its limit of concurrent copies to the region (or the region is full and
 * the copy joins its queue): it stays PENDING with the time it first joined the queue (kept when
 * re-queued, so the queue stays in order), and no startedAt, since no image was made that a
 * restart should look for. Undefined when the creation stopped being active meanwhile.
 */
export async function queueCopy(
  deps: LifecycleDeps,
  id: string,
  region: string,
  queuedAt: number,
  message: string,
): Promise<CopyPatch | undefined> {
  const patch: CopyPatch = { status: 'PENDING', queuedAt, startedAt: null, message };
  return (await transition(deps, id, 'active', {}, [{ region, patch }])) ? patch : undefined;
}

/** EC2 made the copy in one region; undefined when the creation stopped being active meanwhile. */
export async function recordCopy(
  deps: LifecycleDeps,
  c: CreationRecord,
  region: string,
  amiId: string,
): Promise<CopyPatch | undefined> {
  const now = deps.clock.now();
  const patch: CopyPatch = { amiId, status: 'IN_PROGRESS', startedAt: now, message: 'Copy started' };
  const applied = await transition(deps, c.id, 'active', {}, [{ region, patch }], (tx) =>
    upsertAmi(tx, pendingAmi(c, amiId, region, now), imageTags(c)),
  );
  return applied ? patch : undefined;
}

/**
 * EC2 made the encrypted copy E of the source image in its own region: E becomes the creation's
 * AMI (the one the user gets), tracked from its first snapshot like the source was; its AMI row
 * exists (pending); false when the creation stopped being active meanwhile.
 */
export function recordEncryptedImage(deps: LifecycleDeps, c: CreationRecord, amiId: string, message: string): Promise<boolean> {
  const now = deps.clock.now();
  const patch: CreationPatch = { amiId, snapshotIds: [], snapshotsTagged: false, imageRequestedAt: now, message, updatedAt: now };
  return transition(deps, c.id, 'active', patch, [], (tx) =>
    upsertAmi(tx, { ...pendingAmi(c, amiId, c.sourceRegion, now), encrypted: true }, imageTags(c)),
  );
}

/**
 * The unencrypted source image is gone from EC2 (replaced by its encrypted copy, or removed after
 * the encryption failed). Its AMI row stays, DEREGISTERED with the reason, rather than being
 * deleted: the creation's history then names every image it registered (as a retired AMI's row
 * does), and a cancel or the reconciler finding it on EC2 later still knows whose it was.
 */
export function retireUnencryptedImage(deps: LifecycleDeps, c: CreationRecord, reason: string): Promise<boolean> {
  const now = deps.clock.now();
  const amiId = c.unencryptedAmiId!;
  return announcedIf(
    deps,
    [amiId],
    updateCreation(deps.db, c.id, {}, [], {
      guard: 'active',
      also: (tx) =>
        updateAmi(tx, amiId, { state: 'DEREGISTERED', visibility: 'PRIVATE', deregisteredReason: reason, updatedAt: now }),
    }),
  );
}

/** Once `write` applied, the owner's amiChanges hear these AMIs' new state. */
async function announcedIf(deps: LifecycleDeps, amiIds: string[], write: Promise<boolean>): Promise<boolean> {
  const applied = await write;
  if (applied && amiIds.length) await announceAmis(deps, amiIds);
  return applied;
}

/** What one tick saw of a creation and its copies. Publishes only when there was something to write. */
export function applyProgress(
  deps: LifecycleDeps,
  id: string,
  patch: CreationPatch,
  copies: CopyChange[] = [],
): Promise<boolean> {
  const writes = copies.filter((x) => Object.keys(x.patch).length > 0);
  if (Object.keys(patch).length === 0 && writes.length === 0) return Promise.resolve(false);
  const stamped = Object.keys(patch).length ? { ...patch, updatedAt: deps.clock.now() } : patch;
  return transition(deps, id, 'active', stamped, writes);
}

/**
 * An AMI row follows EC2 only while its creation is tracked, so a cancel's DEREGISTERED stays. The
 * creation itself does not change, so nothing is published on its topics; a new state (AVAILABLE,
 * FAILED) goes to the owner's amiChanges.
 */
export function updateAmiWhileTracked(deps: LifecycleDeps, creationId: string, amiId: string, patch: AmiPatch): Promise<boolean> {
  const write = updateCreation(deps.db, creationId, {}, [], { guard: 'active', also: (tx) => updateAmi(tx, amiId, patch) });
  return announcedIf(deps, patch.state ? [amiId] : [], write);
}

/**
 * The settings (deprecation, deregistration protection, IMDSv2, SSM parameter) of these images are
 * done: the source's on the creation, a copy's on its row, so a later tick or a restart applies
 * only the rest. `problems` are what EC2 or SSM refused (not retried), kept in failureReason for
 * the final message, as publishing's problems are.
 */
export function recordSettingsApplied(
  deps: LifecycleDeps,
  c: CreationRecord,
  regions: readonly string[],
  problems: readonly string[],
): Promise<boolean> {
  if (regions.length === 0) return Promise.resolve(false);
  const now = deps.clock.now();
  const failureReason = problems.length ? [c.failureReason, ...problems].filter(Boolean).join('; ') : undefined;
  const patch: CreationPatch = {
    ...(regions.includes(c.sourceRegion) ? { settingsAppliedAt: now } : {}),
    ...(failureReason ? { failureReason } : {}),
    updatedAt: now,
  };
  const copies = regions.filter((r) => r !== c.sourceRegion).map((region) => ({ region, patch: { settingsAppliedAt: now } }));
  return transition(deps, c.id, 'active', patch, copies);
}

export interface AmiChange {
  amiId: string;
  patch: AmiPatch;
}

export interface Ending {
  status: Extract<CreationStatus, 'COMPLETED' | 'PARTIALLY_COMPLETED' | 'FAILED'>;
  message: string;
  failureReason?: string;
  copies?: CopyChange[];
  /** Other AMI rows the ending changes (older AMIs its retention retired), written with it or not at all. */
  amis?: AmiChange[];
}

/**
 * The creation ends: DONE when it completed, at the stage it reached when it failed. The AMI rows
 * of `ending.amis` change in the same transaction, so the final message and those rows agree.
 */
export function finish(deps: LifecycleDeps, c: CreationRecord, ending: Ending): Promise<boolean> {
  const now = deps.clock.now();
  const failed = ending.status === 'FAILED';
  const patch: CreationPatch = {
    status: ending.status,
    stage: failed ? c.stage : 'DONE',
    progress: failed ? c.progress : 100,
    message: ending.message,
    failureReason: ending.failureReason ?? c.failureReason,
    estimatedSecondsRemaining: null,
    completedAt: now,
    updatedAt: now,
  };
  const amis = ending.amis ?? [];
  const also = amis.length
    ? async (tx: Store) => {
        for (const a of amis) await updateAmi(tx, a.amiId, a.patch);
      }
    : undefined;
  const write = transition(deps, c.id, 'active', patch, ending.copies ?? [], also);
  return announcedIf(
    deps,
    amis.map((a) => a.amiId),
    write,
  );
}

/**
 * The cancel is recorded before EC2 is touched (CANCELLED, completedAt unset), so the tracker stops
 * at once; removing the images follows, and completeCancel ends it.
 */
export function beginCancel(deps: LifecycleDeps, c: CreationRecord): Promise<boolean> {
  if (isTerminal(c.status)) return Promise.resolve(false);
  const now = deps.clock.now();
  const copies = c.copies
    .filter((x) => !isTerminal(x.status))
    .map((x) => ({ region: x.region, patch: { status: 'CANCELLED' as const, message: 'Cancelled', completedAt: now } }));
  const patch: CreationPatch = {
    status: 'CANCELLED',
    message: CANCELLING_MESSAGE,
    estimatedSecondsRemaining: null,
    completedAt: null,
    updatedAt: now,
  };
  return transition(deps, c.id, 'active', patch, copies);
}

/** Something made could not be removed yet; the tracker tries again. */
export function noteCancelProblem(deps: LifecycleDeps, id: string, problems: string[]): Promise<boolean> {
  const message = `Cancelled; still removing what was made (will retry): ${problems.join('; ')}`;
  return transition(deps, id, 'cancelling', { message, updatedAt: deps.clock.now() });
}

/** Everything the creation made is gone: the cancel is complete. */
export function completeCancel(deps: LifecycleDeps, id: string, removed: string[]): Promise<boolean> {
  const message = removed.length
    ? `Cancelled; ${removed.join(', ')} deregistered and ${removed.length > 1 ? 'their' : 'its'} snapshots deleted`
    : 'Cancelled before EC2 registered an image; nothing was left behind';
  const now = deps.clock.now();
  return transition(deps, id, 'cancelling', { message, completedAt: now, updatedAt: now });
}

/**
 * An image was made for a creation cancelled meanwhile (a CreateImage or CopyImage under way):
 * record it and reopen the cancel's clean-up, so that it is removed too.
 */
export function reopenCancel(
  deps: LifecycleDeps,
  c: { id: string; sourceRegion: string },
  image: { region: string; amiId: string },
): Promise<boolean> {
  const isSource = image.region === c.sourceRegion;
  return transition(
    deps,
    c.id,
    'cancelled',
    { ...(isSource ? { amiId: image.amiId } : {}), completedAt: null, message: CANCELLING_MESSAGE },
    isSource ? [] : [{ region: image.region, patch: { amiId: image.amiId } }],
  );
}
