// Responsible for the COPYING stage: each regional copy is requested (or found again after a
// crash), then advanced like the source image was, until every copy has completed or failed. A
// copy that EC2 refuses for its limit of concurrent copies waits in its region's queue
// (copy-queue.ts): serveQueues asks again for the queued ones, oldest first, when the region admits.
//
// A copy is recorded as requested before CopyImage is sent, so that after a crash a copy whose id
// was never stored is looked for by its tag before CopyImage is sent again; the ClientToken makes
// a repeated CopyImage answer the same image on EC2 as well.
import { createHash } from 'node:crypto';
import type { CopyPatch, CreationRecord } from '../../db/creations.js';
import { isTerminal, type RegionCopyRow } from '../../db/schema.js';
import { removeLateImage } from '../cancellation.js';
import { queueCopy, recordCopy, requestCopy, type CopyChange } from '../creations/lifecycle.js';
import { isCopyLimit, isRejection, toDomainError } from '../ec2/errors.js';
import { isManagedKey } from '../encryption.js';
import { imageTags, TAG_CREATION_ID } from '../system-tags.js';
import type { TrackerContext } from './context.js';
import { queuedCopies, type Admission } from './copy-queue.js';
import { progressFields } from './estimate.js';
import { complete } from './finishing.js';
import { stepImage } from './image-step.js';
import { copyingMessage, copyProgressMessage, queuedMessage, stageMessage } from './messages.js';
import type { Observations } from './observe.js';
import type { StageResult } from './snapshotting.js';
import { nextStage } from './stages.js';

export async function advanceCopying(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> {
  const now = ctx.deps.clock.now();
  const changes: CopyChange[] = [];
  const copies: RegionCopyRow[] = [];
  for (const copy of c.copies) {
    const patch = changedFields(copy, await advanceCopy(ctx, c, copy, obs, now));
    if (Object.keys(patch).length) changes.push({ region: copy.region, patch });
    copies.push({ ...copy, ...patch });
  }
  const next: CreationRecord = { ...c, copies };
  if (copies.every((x) => x.status === 'COMPLETED' || x.status === 'FAILED')) {
    const stage = nextStage(c, 'COPYING');
    if (stage !== 'DONE') {
      return { patch: { stage, message: stageMessage(next, stage), ...progressFields(ctx, next, obs, 1) }, copies: changes };
    }
    await complete(ctx, next, [], changes);
    return 'finished';
  }
  return { patch: { message: copyingMessage(copies), ...progressFields(ctx, next, obs, 1) }, copies: changes };
}

async function advanceCopy(
  ctx: TrackerContext,
  c: CreationRecord,
  copy: RegionCopyRow,
  obs: Observations,
  now: number,
): Promise<CopyPatch> {
  if (isTerminal(copy.status)) return {};
  if (!copy.amiId) return waitOrStart(ctx, c, copy, now);
  if (obs.unavailable.has(copy.region)) return {};
  const target = {
    kind: 'copy' as const,
    region: copy.region,
    amiId: copy.amiId,
    snapshotIds: copy.snapshotIds,
    snapshotsTagged: copy.snapshotsTagged,
    requestedAt: copy.startedAt ?? now,
  };
  const step = await stepImage(ctx, c, target, obs);
  switch (step.state) {
    case 'waiting':
      return { message: step.message };
    case 'gone':
      return { status: 'FAILED', message: step.reason, failureReason: step.reason, completedAt: now };
    case 'failed':
      return {
        ...step.patch,
        status: 'FAILED',
        message: `Copy failed: ${step.reason}`,
        failureReason: step.reason,
        completedAt: now,
      };
    case 'available':
      return { ...step.patch, status: 'COMPLETED', progress: 100, message: `Available as ${step.image.id}`, completedAt: now };
    case 'pending': {
      const pct = Math.max(copy.progress, Math.floor(step.fraction * 100));
      return { ...step.patch, progress: pct, message: copyProgressMessage(pct) };
    }
  }
}

/**
 * The queued copies of every region, oldest first, for as long as the region admits them (a slot
 * freed, a probe due, or not full), before the creations are advanced; what happened to each is
 * written by its creation's step in this tick.
 */
export async function serveQueues(ctx: TrackerContext, tracked: CreationRecord[]): Promise<void> {
  const now = ctx.deps.clock.now();
  const queues = ctx.copyQueues;
  await Promise.all(
    [...queuedCopies(tracked)].map(async ([region, list]) => {
      try {
        for (const { creation, copy } of list) {
          const admission = ctx.regions.ready(region) ? queues.admit(region) : undefined;
          if (!admission) return;
          queues.serve(region, creation.id, await startCopy(ctx, creation, copy, now, admission));
        }
      } catch (err) {
        ctx.log.error({ err, region }, 'serving the copy queue failed; will retry next tick');
      }
    }),
  );
}

/** A copy not made yet: served from the queue this tick, still queued, joining the queue, or requested. */
async function waitOrStart(ctx: TrackerContext, c: CreationRecord, copy: RegionCopyRow, now: number): Promise<CopyPatch> {
  const queues = ctx.copyQueues;
  const served = queues.served(copy.region, c.id);
  if (served) return served;
  // Still waiting: the count of copies ahead may have changed.
  if (copy.queuedAt !== null) return { message: queuedMessage(queues.inProgress(copy.region), copy.region) };
  if (!ctx.regions.ready(copy.region)) return {};
  return queues.exclusive(copy.region, async () => {
    const admission = queues.admit(copy.region);
    // The region is full: a new copy joins the queue behind the queued ones instead of jumping it.
    if (!admission) return (await queue(ctx, c, copy, now)) ?? {};
    return startCopy(ctx, c, copy, now, admission);
  });
}

const queue = (ctx: TrackerContext, c: CreationRecord, copy: RegionCopyRow, now: number) =>
  queueCopy(
    ctx.deps,
    c.id,
    copy.region,
    copy.queuedAt ?? now,
    queuedMessage(ctx.copyQueues.inProgress(copy.region), copy.region),
  );

/** Request (or find) the copy in one region. */
async function startCopy(
  ctx: TrackerContext,
  c: CreationRecord,
  copy: RegionCopyRow,
  now: number,
  admission: Admission,
): Promise<CopyPatch> {
  try {
    const amiId =
      (copy.startedAt !== null ? await findEarlierCopy(ctx, c, copy) : undefined) ?? (await sendCopyImage(ctx, c, copy));
    if (!amiId) return {};
    ctx.copyQueues.started(copy.region, c.id, admission);
    const patch = await recordCopy(ctx.deps, c, copy.region, amiId);
    if (!patch) {
      await removeLateImage(ctx.deps, c, { region: copy.region, amiId });
      return {};
    }
    // CopyImageTags is not honoured everywhere (moto): tag the copy explicitly too.
    await ctx.deps.ec2.createTags(copy.region, [amiId], imageTags(c)).catch((err: unknown) => {
      ctx.log.warn({ err, creationId: c.id, region: copy.region }, 'tagging the copy failed');
    });
    return patch;
  } catch (err) {
    if (isCopyLimit(err)) {
      ctx.copyQueues.refused(copy.region);
      return (await queue(ctx, c, copy, now)) ?? {};
    }
    if (isRejection(err)) {
      const reason = toDomainError(err).message;
      return { status: 'FAILED', message: `Copy failed: ${reason}`, failureReason: reason, completedAt: now };
    }
    ctx.regions.failed(copy.region, err);
    return { message: 'Waiting to start the copy (EC2 is busy)' };
  }
}

/** A copy requested before a crash whose id was never stored: found by the creation-id tag. */
async function findEarlierCopy(ctx: TrackerContext, c: CreationRecord, copy: RegionCopyRow): Promise<string | undefined> {
  const known = new Set([c.amiId, c.unencryptedAmiId, ...c.copies.map((x) => x.amiId)]);
  const found = await ctx.deps.ec2.findImages(copy.region, { tag: { key: TAG_CREATION_ID, values: [c.id] } });
  const amiId = found.find((i) => !known.has(i.id) && i.state !== 'deregistered')?.id;
  if (amiId) ctx.log.info({ creationId: c.id, region: copy.region, amiId }, 'adopted the copy of an unconfirmed CopyImage');
  return amiId;
}

/** CopyImage, recorded as requested first; undefined when the creation stopped being active. */
async function sendCopyImage(ctx: TrackerContext, c: CreationRecord, copy: RegionCopyRow): Promise<string | undefined> {
  if (!(await requestCopy(ctx.deps, c.id, copy.region, copy.queuedAt !== null))) return undefined;
  return ctx.deps.ec2.copyImage(copy.region, {
    sourceRegion: c.sourceRegion,
    sourceImageId: c.amiId!,
    name: c.name,
    description: c.description ?? undefined,
    clientToken: copyClientToken(c.id, copy.region),
    tags: imageTags(c),
    ...copyEncryption(c, copy.region),
  });
}

/** An encrypted creation's copy is encrypted with its region's key (resolved when the creation was accepted). */
function copyEncryption(c: CreationRecord, region: string): { encrypted?: true; kmsKeyId?: string } {
  if (!c.encrypt) return {};
  const key = c.regionKmsKeyIds?.[region];
  return isManagedKey(key) ? { encrypted: true } : { encrypted: true, kmsKeyId: key! };
}

/** Deterministic per creation and region, so a retried CopyImage never makes a second copy. */
export function copyClientToken(creationId: string, region: string): string {
  return `prism-${createHash('sha256').update(`${creationId}:${region}`).digest('hex').slice(0, 48)}`;
}

/** The fields of a patch that differ from the row: a tick writes (and publishes) only what changed. */
function changedFields<T extends object>(row: T, patch: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch) as [keyof T, T[keyof T]][]) {
    if (JSON.stringify(row[k]) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}
