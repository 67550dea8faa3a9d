// Responsible for what a crash or a lost EC2 answer leaves behind: creations recorded without an
// AMI id (their image is adopted by the creation-id tag or the name before CreateImage is ever sent
// again), and cancels whose clean-up was interrupted (finished here, asking EC2 less and less often).
import { listCancellingCreations, type CreationRecord } from '../../db/creations.js';
import { finishCancel } from '../cancellation.js';
import { markImageRequested, recordSourceImage } from '../creations/lifecycle.js';
import { keepRequestedImage, requestedImageName, sendCreateImage } from '../creations/request-image.js';
import { isTransient, toDomainError } from '../ec2/errors.js';
import type { Ec2Image } from '../ec2/types.js';
import type { RegionCheck } from '../region-leases.js';
import { TAG_CREATION_ID } from '../system-tags.js';
import { retryDelay, type TrackerContext } from './context.js';
import { fail } from './finishing.js';
import { hours } from './messages.js';

/** Creations recorded but without an AMI id: a crash or an unanswered CreateImage. */
export async function resumeOrphans(ctx: TrackerContext, orphans: CreationRecord[]): Promise<void> {
  const byRegion = new Map<string, CreationRecord[]>();
  for (const c of orphans) byRegion.set(c.sourceRegion, [...(byRegion.get(c.sourceRegion) ?? []), c]);
  for (const [region, list] of byRegion) {
    if (!ctx.regions.ready(region)) continue;
    let tagged: Ec2Image[];
    try {
      // One call for every orphan of the region: their images carry the creation-id tag.
      tagged = await ctx.deps.ec2.findImages(region, { tag: { key: TAG_CREATION_ID, values: list.map((c) => c.id) } });
    } catch (err) {
      ctx.regions.failed(region, err);
      continue;
    }
    for (const c of list) {
      try {
        await resumeOrphan(ctx, c, tagged);
      } catch (err) {
        if (isTransient(err)) ctx.regions.failed(region, err);
        else ctx.log.error({ err, creationId: c.id }, 'resuming a creation failed; will retry next tick');
      }
    }
  }
}

async function resumeOrphan(ctx: TrackerContext, c: CreationRecord, tagged: Ec2Image[]): Promise<void> {
  const found = await findOrphanImage(ctx, c, tagged);
  if (found === 'taken') return;
  if (found) {
    ctx.log.info({ creationId: c.id, amiId: found.id }, 'adopted the image of an unconfirmed CreateImage');
    await recordSourceImage(ctx.deps, c, found.id);
    return;
  }
  const now = ctx.deps.clock.now();
  if (now - c.createdAt > ctx.settings.maxDurationMs) {
    return fail(ctx, c, `EC2 did not register an image within ${hours(ctx.settings.maxDurationMs)}; no AMI was made`);
  }
  if (c.imageRequestedAt !== null && now - c.imageRequestedAt < ctx.settings.reRequestAfterMs) return;
  await requestAgain(ctx, c);
}

/**
 * The image of the creation, by its tag or else its name; 'taken' (and the creation failed) when
 * the name belongs to another image.
 */
async function findOrphanImage(
  ctx: TrackerContext,
  c: CreationRecord,
  tagged: Ec2Image[],
): Promise<Ec2Image | 'taken' | undefined> {
  const image = tagged.find((i) => i.tags.some((t) => t.key === TAG_CREATION_ID && t.value === c.id));
  if (image) return image;
  // The tag may lag behind the image (or the endpoint may not tag); names are unique per region.
  const name = requestedImageName(c);
  const byName = await ctx.deps.ec2.findImages(c.sourceRegion, { name });
  const candidate = byName.find((i) => i.state !== 'deregistered');
  if (!candidate) return undefined;
  const otherCreation = candidate.tags.find((t) => t.key === TAG_CREATION_ID)?.value;
  const registeredAt = candidate.createdAt ? Date.parse(candidate.createdAt) : Number.NaN;
  // An untagged image is ours only if it was registered after our request (clocks may differ a little).
  const before = Number.isFinite(registeredAt) && registeredAt < (c.imageRequestedAt ?? c.createdAt) - 60_000;
  if ((otherCreation && otherCreation !== c.id) || (!otherCreation && before)) {
    await fail(
      ctx,
      c,
      `Another AMI named "${name}" (${candidate.id}) exists in ${c.sourceRegion}; no image was made for this creation`,
    );
    return 'taken';
  }
  return candidate;
}

/**
 * No image carries this creation's tag or name: asking again cannot make a second AMI, and if the
 * first request did land after all, EC2 answers InvalidAMIName.Duplicate.
 */
async function requestAgain(ctx: TrackerContext, c: CreationRecord): Promise<void> {
  if (!(await markImageRequested(ctx.deps, c.id))) return;
  let amiId: string;
  try {
    amiId = await sendCreateImage(ctx.deps, c);
  } catch (err) {
    if (isTransient(err) || (err as { ec2Code?: string }).ec2Code === 'InvalidAMIName.Duplicate') return;
    return fail(ctx, c, toDomainError(err).message);
  }
  await keepRequestedImage(ctx.deps, c, amiId);
}

/** Cancels interrupted by a crash or an EC2 error: remove what is left, then end them. */
export async function sweepCancelled(
  ctx: TrackerContext,
  retries: Map<string, { at: number; failures: number }>,
  owns: RegionCheck = () => Promise.resolve(true),
): Promise<void> {
  const { clock } = ctx.deps;
  for (const c of await listCancellingCreations(ctx.deps.db)) {
    const retry = retries.get(c.id);
    if (!ctx.regions.ready(c.sourceRegion) || (retry && retry.at > clock.now()) || !(await owns(c.sourceRegion))) continue;
    let done = false;
    try {
      done = await finishCancel(ctx.deps, c.id);
    } catch (err) {
      ctx.log.error({ err, creationId: c.id }, 'finishing a cancel failed; will retry');
    }
    if (done) {
      retries.delete(c.id);
    } else {
      // EC2 keeps refusing (permissions, a snapshot still in use): ask less and less often.
      const failures = (retry?.failures ?? 0) + 1;
      retries.set(c.id, { at: clock.now() + retryDelay(ctx.settings.intervalMs, failures), failures });
    }
  }
}
