// Responsible for advancing one image by what this tick saw of it, the same way whether it is a
// creation's source image or one of its regional copies: follow its snapshot ids, tag its
// snapshots (within the tick's budget), keep its AMI row in step with EC2, and say where it is.
import type { CreationRecord } from '../../db/creations.js';
import { updateAmiWhileTracked } from '../creations/lifecycle.js';
import type { Ec2Image } from '../ec2/types.js';
import { imageTags } from '../system-tags.js';
import type { TrackerContext } from './context.js';
import { goneReason, enteredStateReason, waitingToListMessage, type ImageKind } from './messages.js';
import { imageFraction, type Observations } from './observe.js';

const FAILED_IMAGE_STATES = new Set(['failed', 'error', 'invalid', 'deregistered', 'disabled']);

/** Whether EC2 is done with the image, available or failed (a copy's slot in its region is free again). */
export const imageEnded = (img: Ec2Image): boolean => img.state === 'available' || FAILED_IMAGE_STATES.has(img.state);

export interface ImageTarget {
  kind: ImageKind;
  region: string;
  amiId: string;
  snapshotIds: string[];
  snapshotsTagged: boolean;
  /** When the image was requested: not listed for longer than the grace since then means gone. */
  requestedAt: number;
}

/** The creation's own image in its source region (the captured one, or its encrypted copy), requested at `requestedAt`. */
export function sourceImageTarget(c: CreationRecord, requestedAt: number): ImageTarget {
  return {
    kind: 'image',
    region: c.sourceRegion,
    amiId: c.amiId!,
    snapshotIds: c.snapshotIds,
    snapshotsTagged: c.snapshotsTagged,
    requestedAt,
  };
}

/** What changed about the image's snapshots, for its creation's (or copy's) row. */
export interface SnapshotPatch {
  snapshotIds?: string[];
  snapshotsTagged?: boolean;
}

export type ImageStep =
  | { state: 'waiting'; message: string }
  | { state: 'gone'; reason: string }
  | { state: 'failed'; reason: string; patch: SnapshotPatch }
  | { state: 'available'; image: Ec2Image; patch: SnapshotPatch }
  | { state: 'pending'; fraction: number; patch: SnapshotPatch };

export async function stepImage(
  ctx: TrackerContext,
  c: CreationRecord,
  target: ImageTarget,
  obs: Observations,
): Promise<ImageStep> {
  const { deps } = ctx;
  const now = deps.clock.now();
  const img = obs.images.get(target.amiId);
  if (!img) {
    // EC2 lists a new image only after a while; one not listed long after its request is gone.
    if (now - target.requestedAt <= ctx.settings.notVisibleGraceMs) {
      return { state: 'waiting', message: waitingToListMessage(target.kind, target.amiId) };
    }
    await updateAmiWhileTracked(deps, c.id, target.amiId, { state: 'FAILED', updatedAt: now });
    return { state: 'gone', reason: goneReason(target.kind, target.amiId, target.region) };
  }
  const patch = await followSnapshots(ctx, c, target, img);
  if (FAILED_IMAGE_STATES.has(img.state)) {
    await updateAmiWhileTracked(deps, c.id, img.id, { state: 'FAILED', updatedAt: now });
    return { state: 'failed', reason: img.stateReason ?? enteredStateReason(target.kind, img.id, img.state), patch };
  }
  if (img.state === 'available') {
    await updateAmiWhileTracked(deps, c.id, img.id, {
      state: 'AVAILABLE',
      sizeGiB: img.sizeGiB || c.sizeGiB,
      encrypted: img.encrypted,
      kmsKeyId: imageKey(img, obs) ?? null,
      ...(target.kind === 'image' ? { architecture: img.architecture ?? c.architecture } : {}),
      updatedAt: now,
    });
    return { state: 'available', image: img, patch };
  }
  return { state: 'pending', fraction: imageFraction(img, obs), patch };
}

/** The image's KMS key: named in DescribeImages when EC2 does so, else on its snapshots (where EC2 always names it). */
function imageKey(img: Ec2Image, obs: Observations): string | undefined {
  return img.kmsKeyId ?? img.snapshotIds.map((id) => obs.snapshots.get(id)?.kmsKeyId).find((k) => k !== undefined);
}

/** Record the image's snapshot ids when EC2 shows new ones, and tag the snapshots once. */
async function followSnapshots(
  ctx: TrackerContext,
  c: CreationRecord,
  target: ImageTarget,
  img: Ec2Image,
): Promise<SnapshotPatch> {
  const patch: SnapshotPatch = {};
  if (img.snapshotIds.join() !== target.snapshotIds.join()) {
    patch.snapshotIds = img.snapshotIds;
    await updateAmiWhileTracked(ctx.deps, c.id, img.id, { snapshotIds: img.snapshotIds, updatedAt: ctx.deps.clock.now() });
  }
  if (!target.snapshotsTagged && img.snapshotIds.length && ctx.tagBudget.take(target.region)) {
    try {
      await ctx.deps.ec2.createTags(target.region, img.snapshotIds, imageTags(c));
      patch.snapshotsTagged = true;
    } catch (err) {
      if (target.kind === 'image') ctx.log.warn({ err, creationId: c.id }, 'tagging snapshots failed; will retry');
      else ctx.log.warn({ err, creationId: c.id, region: target.region }, 'tagging copy snapshots failed; will retry');
    }
  }
  return patch;
}
