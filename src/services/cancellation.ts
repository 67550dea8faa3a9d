// Responsible for removing what a cancelled creation made: every image it registered (source and
// copies, including ones whose id was never stored, found by the creation-id tag) and their
// snapshots. A cancel is recorded first (CANCELLED, completedAt unset) and finished here; if EC2
// fails part-way or the process dies, the tracker calls finishCancel again until nothing is left.
import { amisOfCreation, updateAmi } from '../db/amis.js';
import { findCreation, type CreationRecord } from '../db/creations.js';
import type { ServiceDeps } from './context.js';
import { announceAmis } from './ami-events.js';
import { completeCancel, noteCancelProblem, reopenCancel } from './creations/lifecycle.js';
import { isNotFound } from './ec2/errors.js';
import type { Ec2Gateway } from './ec2/types.js';
import { TAG_CREATION_ID } from './system-tags.js';

export interface RemovalResult {
  /** Image ids that are gone from EC2 now (deregistered here, or already gone). */
  removed: string[];
  /** What could not be removed yet, one sentence each. */
  problems: string[];
}

/**
 * Deregister every image of the creation in every region it touched and delete their snapshots.
 * Images are found by the ids the service knows and by the creation-id tag, so an image whose id
 * was lost in a crash (or a CreateImage/CopyImage still being answered) is found too.
 */
export async function removeCreationImages(ec2: Ec2Gateway, db: ServiceDeps['db'], c: CreationRecord): Promise<RemovalResult> {
  const known = await amisOfCreation(db, c.id);
  const regions = new Map<string, { amiIds: Set<string>; snapshotIds: Set<string> }>();
  const region = (name: string) => {
    let r = regions.get(name);
    if (!r) regions.set(name, (r = { amiIds: new Set(), snapshotIds: new Set() }));
    return r;
  };
  region(c.sourceRegion);
  if (c.amiId) region(c.sourceRegion).amiIds.add(c.amiId);
  for (const id of c.snapshotIds) region(c.sourceRegion).snapshotIds.add(id);
  // An encrypted creation's unencrypted image (its amiId may already be the encrypted copy).
  if (c.unencryptedAmiId) region(c.sourceRegion).amiIds.add(c.unencryptedAmiId);
  for (const id of c.unencryptedSnapshotIds ?? []) region(c.sourceRegion).snapshotIds.add(id);
  for (const copy of c.copies) {
    // A copy that was never requested has nothing to remove.
    if (!copy.amiId && copy.startedAt === null) continue;
    const r = region(copy.region);
    if (copy.amiId) r.amiIds.add(copy.amiId);
    for (const id of copy.snapshotIds) r.snapshotIds.add(id);
  }
  for (const ami of known) {
    const r = region(ami.region);
    r.amiIds.add(ami.amiId);
    for (const id of ami.snapshotIds) r.snapshotIds.add(id);
  }

  const removed: string[] = [];
  const problems: string[] = [];
  for (const [name, want] of regions) {
    try {
      const tagged = await ec2.findImages(name, { tag: { key: TAG_CREATION_ID, values: [c.id] } });
      const untaggedIds = [...want.amiIds].filter((id) => !tagged.some((i) => i.id === id));
      const byId = untaggedIds.length ? await ec2.findImages(name, { ids: untaggedIds }) : [];
      const images = [...tagged, ...byId].filter((i) => i.state !== 'deregistered');
      for (const image of images) {
        for (const id of image.snapshotIds) want.snapshotIds.add(id);
        try {
          // The creation's own settings may have protected it before the cancel; a cancel removes what it made.
          if (image.deregistrationProtection) await ec2.disableDeregistrationProtection(name, image.id);
          await ec2.deregisterImage(name, image.id);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        want.amiIds.add(image.id);
      }
      removed.push(...want.amiIds);
    } catch (err) {
      problems.push(`could not deregister the images in ${name}: ${message(err)}`);
      continue;
    }
    for (const snapshotId of want.snapshotIds) {
      try {
        await ec2.deleteSnapshot(name, snapshotId);
      } catch (err) {
        if (!isNotFound(err)) problems.push(`could not delete snapshot ${snapshotId} in ${name}: ${message(err)}`);
      }
    }
  }
  return { removed: [...new Set(removed)], problems };
}

/**
 * Finish a cancel that was recorded (CANCELLED, completedAt unset): remove the images, then mark
 * it complete and tell subscribers. Returns false while something is left (retried by the tracker).
 */
export async function finishCancel(deps: ServiceDeps, id: string): Promise<boolean> {
  const { db, ec2, clock } = deps;
  const c = await findCreation(db, id);
  if (!c || c.status !== 'CANCELLED' || c.completedAt !== null) return true;
  const { removed, problems } = await removeCreationImages(ec2, db, c);
  const now = clock.now();
  // AMI rows of a cancelled creation are no longer the tracker's: they follow the removal.
  for (const amiId of removed) await updateAmi(db, amiId, { state: 'DEREGISTERED', updatedAt: now });
  await announceAmis(deps, removed);
  if (problems.length) {
    deps.logger.warn({ creationId: id, problems }, 'cancel could not remove everything yet; will retry');
    await noteCancelProblem(deps, id, problems);
    return false;
  }
  await completeCancel(deps, id, removed);
  return true;
}

/**
 * An image was made for a creation that was cancelled meanwhile (a CreateImage or CopyImage that
 * was under way): record it, reopen the cancel's clean-up and run it, so nothing is left behind.
 */
export async function removeLateImage(
  deps: ServiceDeps,
  c: { id: string; sourceRegion: string },
  image: { region: string; amiId: string },
): Promise<void> {
  if (!(await reopenCancel(deps, c, image))) {
    deps.logger.error({ creationId: c.id, ...image }, 'an image was made for a creation that ended; remove it by hand');
    return;
  }
  await finishCancel(deps, c.id).catch((err: unknown) => {
    deps.logger.warn({ err, creationId: c.id }, 'removing a late image failed; the tracker will retry');
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
