// Responsible for moving every unfinished creation forward: per region and tick it asks EC2 once
// for all tracked images and once for all their snapshots (never once per creation), turns what
// it sees into progress, stage, message and ETA, starts copies and publishing when their turn
// comes, writes each change in a short transaction and publishes it to subscribers.
//
// Restarts: every write is guarded by the creation's status (a cancel always wins), a creation
// without an AMI id is resolved by the creation-id tag (or name) before CreateImage is ever sent
// again, and copies are requested with a per-creation ClientToken after a look for an earlier copy.
import { createHash } from 'node:crypto';
import { findAmi, type AmiPatch } from '../db/amis.js';
import {
  findCreation,
  listActiveCreations,
  listCancellingCreations,
  type CopyPatch,
  type CreationPatch,
  type CreationRecord,
} from '../db/creations.js';
import type { CreationStatus, RegionCopyRow } from '../db/schema.js';
import { finishCancel, removeLateImage } from './cancellation.js';
import type { ServiceDeps } from './context.js';
import * as lifecycle from './creations/lifecycle.js';
import { keepRequestedImage, sendCreateImage } from './creations/request-image.js';
import { isRejection, isThrottling, isTransient, toDomainError } from './ec2/errors.js';
import type { Ec2Image, Ec2Snapshot } from './ec2/types.js';
import { applyLaunchPermissions } from './launch-permissions.js';
import {
  estimateSecondsRemaining,
  percent,
  snapshotFraction,
  totalWork,
  workDone,
  type WorkDone,
  type WorkPlan,
} from './progress.js';
import { imageTags, TAG_CREATION_ID } from './system-tags.js';

export interface TrackerOptions {
  intervalMs: number;
  /** Creations not finished by then end FAILED (EC2 can take long; never less than 2 hours). */
  maxDurationMs?: number;
  /** How long "not found" right after CreateImage/CopyImage means "not visible yet". */
  notVisibleGraceMs?: number;
  /** Wait this long after an unconfirmed CreateImage before asking again. */
  reRequestAfterMs?: number;
  /** Called after every tick (metrics). */
  onTick?: (report: TickReport, durationMs: number) => void;
}

export interface TickReport {
  creations: number;
  regions: number;
  ec2Calls: number;
  changed: number;
  skippedRegions: string[];
}

const FAILED_IMAGE_STATES = new Set(['failed', 'error', 'invalid', 'deregistered', 'disabled']);
const TWO_HOURS = 2 * 60 * 60 * 1000;
/** Creations advanced at once within a tick (their EC2 calls are their own: tags, copies, sharing). */
const ADVANCE_CONCURRENCY = 8;
/**
 * Snapshot-tagging CreateTags calls per region and tick. EC2 refills its bucket for mutating calls at
 * about 5 per second after a burst of ~200: a thousand creations started together would otherwise
 * send a thousand CreateTags in their first tick and be throttled. The rest wait for later ticks.
 */
const SNAPSHOT_TAG_CALLS_PER_TICK = 40;

interface Observations {
  images: Map<string, Ec2Image>;
  snapshots: Map<string, Ec2Snapshot>;
  /** Regions whose Describe calls failed this tick: their creations keep their state. */
  unavailable: Set<string>;
}

export type ProgressTracker = ReturnType<typeof createProgressTracker>;

export function createProgressTracker(deps: ServiceDeps, options: TrackerOptions) {
  const { db, ec2, clock } = deps;
  const log = deps.logger.child({ service: 'progress-tracker' });
  const maxDurationMs = Math.max(TWO_HOURS, options.maxDurationMs ?? TWO_HOURS);
  const notVisibleGraceMs = options.notVisibleGraceMs ?? 5 * 60 * 1000;
  const reRequestAfterMs = options.reRequestAfterMs ?? 30 * 1000;

  /** Snapshot-tagging calls made per region in the current tick. */
  const tagBudget = new Map<string, number>();
  function takeTagBudget(region: string): boolean {
    const used = tagBudget.get(region) ?? 0;
    if (used >= SNAPSHOT_TAG_CALLS_PER_TICK) return false;
    tagBudget.set(region, used + 1);
    return true;
  }

  /** Per-region backoff after throttling or transient failures. */
  const backoff = new Map<string, { until: number; failures: number }>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let current: Promise<unknown> | undefined;
  let lastTickAt: number | undefined;
  let ec2Calls = 0;

  function regionReady(region: string): boolean {
    const b = backoff.get(region);
    return !b || b.until <= clock.now();
  }

  function regionFailed(region: string, err: unknown): void {
    const prev = backoff.get(region)?.failures ?? 0;
    const failures = prev + 1;
    const base = Math.min(options.intervalMs * 2 ** failures, 5 * 60 * 1000);
    const delay = Math.round(base * (0.5 + Math.random()));
    backoff.set(region, { until: clock.now() + delay, failures });
    log.warn(
      { region, err: err instanceof Error ? err.message : err, throttled: isThrottling(err), backoffMs: delay, failures },
      'EC2 describe failed; backing off this region',
    );
  }

  async function observe(creations: CreationRecord[]): Promise<Observations> {
    const wanted = new Map<string, Set<string>>();
    const want = (region: string, id: string | null) => {
      if (!id) return;
      let set = wanted.get(region);
      if (!set) wanted.set(region, (set = new Set()));
      set.add(id);
    };
    for (const c of creations) {
      if (c.stage === 'SNAPSHOTTING') want(c.sourceRegion, c.amiId);
      if (c.stage === 'COPYING') for (const copy of c.copies) if (copy.status === 'IN_PROGRESS') want(copy.region, copy.amiId);
    }
    const obs: Observations = { images: new Map(), snapshots: new Map(), unavailable: new Set() };
    await Promise.all(
      [...wanted].map(async ([region, ids]) => {
        if (!regionReady(region)) {
          obs.unavailable.add(region);
          return;
        }
        try {
          const images = await ec2.findImages(region, { ids: [...ids] });
          ec2Calls += Math.ceil(ids.size / 1000);
          const snapshotIds = images.flatMap((i) => i.snapshotIds);
          const snapshots = snapshotIds.length ? await ec2.describeSnapshots(region, snapshotIds) : [];
          if (snapshotIds.length) ec2Calls += Math.ceil(snapshotIds.length / 1000);
          for (const i of images) obs.images.set(i.id, i);
          for (const s of snapshots) obs.snapshots.set(s.id, s);
          backoff.delete(region);
        } catch (err) {
          obs.unavailable.add(region);
          regionFailed(region, err);
        }
      }),
    );
    return obs;
  }

  /** Creations recorded but without an AMI id: a crash or an unanswered CreateImage. */
  async function resumeOrphans(orphans: CreationRecord[]): Promise<void> {
    const byRegion = new Map<string, CreationRecord[]>();
    for (const c of orphans) byRegion.set(c.sourceRegion, [...(byRegion.get(c.sourceRegion) ?? []), c]);
    for (const [region, list] of byRegion) {
      if (!regionReady(region)) continue;
      let tagged: Ec2Image[];
      try {
        // One call for every orphan of the region: their images carry the creation-id tag.
        tagged = await ec2.findImages(region, { tag: { key: TAG_CREATION_ID, values: list.map((c) => c.id) } });
        ec2Calls++;
      } catch (err) {
        regionFailed(region, err);
        continue;
      }
      for (const c of list) {
        try {
          await resumeOrphan(c, tagged);
        } catch (err) {
          if (isTransient(err)) regionFailed(region, err);
          else log.error({ err, creationId: c.id }, 'resuming a creation failed; will retry next tick');
        }
      }
    }
  }

  async function resumeOrphan(c: CreationRecord, tagged: Ec2Image[]): Promise<void> {
    const now = clock.now();
    let image = tagged.find((i) => i.tags.some((t) => t.key === TAG_CREATION_ID && t.value === c.id));
    if (!image) {
      // The tag may lag behind the image (or the endpoint may not tag); names are unique per region.
      const byName = await ec2.findImages(c.sourceRegion, { name: c.name });
      ec2Calls++;
      const candidate = byName.find((i) => i.state !== 'deregistered');
      if (candidate) {
        const otherCreation = candidate.tags.find((t) => t.key === TAG_CREATION_ID)?.value;
        const registeredAt = candidate.createdAt ? Date.parse(candidate.createdAt) : Number.NaN;
        // An untagged image is ours only if it was registered after our request (clocks may differ a little).
        const before = Number.isFinite(registeredAt) && registeredAt < (c.imageRequestedAt ?? c.createdAt) - 60_000;
        if ((otherCreation && otherCreation !== c.id) || (!otherCreation && before)) {
          return finish(c, 'FAILED', {
            failureReason: `Another AMI named "${c.name}" (${candidate.id}) exists in ${c.sourceRegion}; no image was made for this creation`,
          });
        }
        image = candidate;
      }
    }
    if (image) {
      log.info({ creationId: c.id, amiId: image.id }, 'adopted the image of an unconfirmed CreateImage');
      await lifecycle.recordSourceImage(deps, c, image.id);
      return;
    }
    if (now - c.createdAt > maxDurationMs) {
      return finish(c, 'FAILED', {
        failureReason: `EC2 did not register an image within ${hours(maxDurationMs)}; no AMI was made`,
      });
    }
    if (c.imageRequestedAt !== null && now - c.imageRequestedAt < reRequestAfterMs) return;
    // No image carries this creation's tag or name: asking again cannot make a second AMI, and
    // if the first request did land after all, EC2 answers InvalidAMIName.Duplicate.
    if (!(await lifecycle.markImageRequested(deps, c.id))) return;
    let amiId: string;
    try {
      amiId = await sendCreateImage(deps, c);
      ec2Calls++;
    } catch (err) {
      if (isTransient(err) || (err as { ec2Code?: string }).ec2Code === 'InvalidAMIName.Duplicate') return;
      return finish(c, 'FAILED', { failureReason: toDomainError(err).message });
    }
    await keepRequestedImage(deps, c, amiId);
  }

  /** AMI rows follow EC2 only while their creation is tracked: a cancel's DEREGISTERED stays. */
  async function updateAmiIfActive(creationId: string, amiId: string, patch: AmiPatch): Promise<void> {
    await lifecycle.updateAmiWhileTracked(deps, creationId, amiId, patch);
  }

  function plan(c: CreationRecord): WorkPlan {
    return { sizeGiB: c.sizeGiB, copies: c.copies.length, publishes: c.public || c.shareAccounts.length > 0 };
  }

  async function finish(
    c: CreationRecord,
    status: lifecycle.Ending['status'],
    extra: { failureReason?: string; message?: string; copies?: { region: string; patch: CopyPatch }[] } = {},
  ): Promise<void> {
    const message = extra.message ?? (status === 'FAILED' ? `Failed: ${extra.failureReason ?? 'unknown reason'}` : availableMessage(c));
    await lifecycle.finish(deps, c, {
      status,
      message,
      ...(extra.failureReason !== undefined ? { failureReason: extra.failureReason } : {}),
      ...(extra.copies ? { copies: extra.copies } : {}),
    });
  }

  function availableMessage(c: CreationRecord): string {
    const copies = c.copies.filter((x) => x.status === 'COMPLETED').map((x) => x.region);
    const failed = c.copies.filter((x) => x.status === 'FAILED').map((x) => x.region);
    let msg = `AMI ${c.amiId} is available in ${c.sourceRegion}`;
    if (copies.length) msg += ` and ${copies.join(', ')}`;
    if (failed.length) msg += `; copies to ${failed.join(', ')} failed`;
    return msg;
  }

  /** Work done so far, for progress and ETA. */
  function measure(c: CreationRecord, obs: Observations, sourceFraction?: number): WorkDone {
    const source =
      sourceFraction ??
      (c.stage === 'SNAPSHOTTING' ? c.progress / 100 : 1); // before copies, progress is the source share
    const copies = c.copies.map((copy) => {
      if (copy.status === 'COMPLETED') return 1;
      if (copy.status !== 'IN_PROGRESS' || !copy.amiId) return copy.progress / 100;
      const img = obs.images.get(copy.amiId);
      return img ? imageFraction(img, obs) : copy.progress / 100;
    });
    return { source, copies, publish: c.stage === 'DONE' ? 1 : 0 };
  }

  function imageFraction(img: Ec2Image, obs: Observations): number {
    if (img.state === 'available') return 1;
    const snaps = img.snapshotIds.flatMap((id) => {
      const s = obs.snapshots.get(id);
      return s ? [s] : [];
    });
    // A pending image stays below 100% until EC2 marks it available.
    return Math.min(0.99, snapshotFraction(snaps));
  }

  async function advanceSnapshotting(c: CreationRecord, obs: Observations): Promise<CreationPatch | 'finished'> {
    const now = clock.now();
    const img = obs.images.get(c.amiId!);
    if (!img) {
      const since = c.imageRequestedAt ?? c.createdAt;
      if (now - since > notVisibleGraceMs) {
        await updateAmiIfActive(c.id, c.amiId!, { state: 'FAILED', updatedAt: now });
        await finish(c, 'FAILED', {
          failureReason: `EC2 no longer lists image ${c.amiId}; it was deregistered or never registered`,
        });
        return 'finished';
      }
      return { message: `Waiting for EC2 to list image ${c.amiId}` };
    }
    const patch: CreationPatch = {};
    if (img.snapshotIds.join() !== c.snapshotIds.join()) {
      patch.snapshotIds = img.snapshotIds;
      await updateAmiIfActive(c.id, img.id, { snapshotIds: img.snapshotIds, updatedAt: now });
    }
    if (!c.snapshotsTagged && img.snapshotIds.length && takeTagBudget(c.sourceRegion)) {
      try {
        await ec2.createTags(c.sourceRegion, img.snapshotIds, imageTags(c));
        patch.snapshotsTagged = true;
      } catch (err) {
        log.warn({ err, creationId: c.id }, 'tagging snapshots failed; will retry');
      }
    }
    if (FAILED_IMAGE_STATES.has(img.state)) {
      const reason = img.stateReason ?? `image ${img.id} entered state ${img.state}`;
      await updateAmiIfActive(c.id, img.id, { state: 'FAILED', updatedAt: now });
      await finish(c, 'FAILED', {
        failureReason: reason,
        copies: c.copies.map((x) => ({
          region: x.region,
          patch: { status: 'FAILED' as const, message: 'Not started: the source image failed', completedAt: now },
        })),
      });
      return 'finished';
    }
    if (img.state === 'available') {
      await updateAmiIfActive(c.id, img.id, {
        state: 'AVAILABLE',
        sizeGiB: img.sizeGiB || c.sizeGiB,
        encrypted: img.encrypted,
        architecture: img.architecture ?? c.architecture,
        updatedAt: now,
      });
      if (c.copies.length) return { ...patch, stage: 'COPYING', message: `Copying to ${c.copies.map((x) => x.region).join(', ')}` };
      if (plan(c).publishes) return { ...patch, stage: 'PUBLISHING', message: publishingMessage(c) };
      await lifecycle.applyProgress(deps, c.id, patch);
      await finish(findCreation(db, c.id)!, 'COMPLETED');
      return 'finished';
    }
    const fraction = imageFraction(img, obs);
    const pct = Math.floor(fraction * 100);
    return { ...patch, message: `Creating snapshot - ${pct}% complete`, ...progressFields(c, obs, fraction) };
  }

  function progressFields(c: CreationRecord, obs: Observations, sourceFraction?: number): CreationPatch {
    const now = clock.now();
    const p = plan(c);
    const done = measure(c, obs, sourceFraction);
    const work = workDone(p, done);
    const patch: CreationPatch = { progress: percent(p, done, c.progress) };
    let base = c.rateBaseAt !== null && c.rateBaseWork !== null ? { at: c.rateBaseAt, work: c.rateBaseWork } : null;
    if (!base) {
      // The first observation is the base of the rate: the ETA needs a second one.
      patch.rateBaseAt = now;
      patch.rateBaseWork = work;
      base = { at: now, work };
    }
    patch.estimatedSecondsRemaining = estimateSecondsRemaining({
      total: totalWork(p),
      doneNow: work,
      now,
      base,
      minObservationMs: Math.min(5000, options.intervalMs * 1.5),
    });
    return patch;
  }

  async function advanceCopying(c: CreationRecord, obs: Observations): Promise<CreationPatch | 'finished'> {
    const now = clock.now();
    const copyPatches: { region: string; patch: CopyPatch }[] = [];
    const copies: RegionCopyRow[] = [];
    for (const copy of c.copies) {
      const patch = await advanceCopy(c, copy, obs, now);
      copyPatches.push({ region: copy.region, patch: changes(copy, patch) });
      copies.push({ ...copy, ...patch });
    }
    await lifecycle.applyProgress(deps, c.id, {}, copyPatches);
    const next: CreationRecord = { ...c, copies };
    const parts = copies.map((x) =>
      x.status === 'COMPLETED' ? `${x.region} done` : x.status === 'FAILED' ? `${x.region} failed` : `${x.region} - ${x.progress}%`,
    );
    if (copies.every((x) => x.status === 'COMPLETED' || x.status === 'FAILED')) {
      if (plan(c).publishes) return { stage: 'PUBLISHING', message: publishingMessage(c), ...progressFields(next, obs, 1) };
      await finish(findCreation(db, c.id)!, copies.some((x) => x.status === 'FAILED') ? 'PARTIALLY_COMPLETED' : 'COMPLETED');
      return 'finished';
    }
    return { message: `Copying to ${parts.join(', ')}`, ...progressFields(next, obs, 1) };
  }

  async function advanceCopy(c: CreationRecord, copy: RegionCopyRow, obs: Observations, now: number): Promise<CopyPatch> {
    if (copy.status === 'COMPLETED' || copy.status === 'FAILED' || copy.status === 'CANCELLED') return {};
    if (!copy.amiId) {
      if (!regionReady(copy.region)) return {};
      return startCopy(c, copy, now);
    }
    if (obs.unavailable.has(copy.region)) return {};
    const img = obs.images.get(copy.amiId);
    if (!img) {
      if (now - (copy.startedAt ?? now) > notVisibleGraceMs) {
        await updateAmiIfActive(c.id, copy.amiId, { state: 'FAILED', updatedAt: now });
        const reason = `EC2 no longer lists copy ${copy.amiId} in ${copy.region}`;
        return { status: 'FAILED', message: reason, failureReason: reason, completedAt: now };
      }
      return { message: `Waiting for EC2 to list ${copy.amiId}` };
    }
    const patch: CopyPatch = {};
    if (img.snapshotIds.join() !== copy.snapshotIds.join()) {
      patch.snapshotIds = img.snapshotIds;
      await updateAmiIfActive(c.id, img.id, { snapshotIds: img.snapshotIds, updatedAt: now });
    }
    if (!copy.snapshotsTagged && img.snapshotIds.length && takeTagBudget(copy.region)) {
      try {
        await ec2.createTags(copy.region, img.snapshotIds, imageTags(c));
        patch.snapshotsTagged = true;
      } catch (err) {
        log.warn({ err, creationId: c.id, region: copy.region }, 'tagging copy snapshots failed; will retry');
      }
    }
    if (FAILED_IMAGE_STATES.has(img.state)) {
      const reason = img.stateReason ?? `copy ${img.id} entered state ${img.state}`;
      await updateAmiIfActive(c.id, img.id, { state: 'FAILED', updatedAt: now });
      return { ...patch, status: 'FAILED', message: `Copy failed: ${reason}`, failureReason: reason, completedAt: now };
    }
    if (img.state === 'available') {
      await updateAmiIfActive(c.id, img.id, { state: 'AVAILABLE', sizeGiB: img.sizeGiB || c.sizeGiB, encrypted: img.encrypted, updatedAt: now });
      return { ...patch, status: 'COMPLETED', progress: 100, message: `Available as ${img.id}`, completedAt: now };
    }
    const pct = Math.max(copy.progress, Math.floor(imageFraction(img, obs) * 100));
    return { ...patch, progress: pct, message: `Copying - ${pct}%` };
  }

  /**
   * Request (or find) the copy in one region. Recorded as requested first, so that after a crash a
   * copy whose id was never stored is looked for by its tag before CopyImage is sent again; the
   * ClientToken makes a repeated CopyImage answer the same image on EC2 as well.
   */
  async function startCopy(c: CreationRecord, copy: RegionCopyRow, now: number): Promise<CopyPatch> {
    const requestedBefore = copy.startedAt !== null;
    try {
      let amiId: string | undefined;
      if (requestedBefore) {
        const known = new Set([c.amiId, ...c.copies.map((x) => x.amiId)]);
        const found = await ec2.findImages(copy.region, { tag: { key: TAG_CREATION_ID, values: [c.id] } });
        ec2Calls++;
        amiId = found.find((i) => !known.has(i.id) && i.state !== 'deregistered')?.id;
        if (amiId) log.info({ creationId: c.id, region: copy.region, amiId }, 'adopted the copy of an unconfirmed CopyImage');
      }
      if (!amiId) {
        if (!(await lifecycle.requestCopy(deps, c.id, copy.region))) return {};
        amiId = await ec2.copyImage(copy.region, {
          sourceRegion: c.sourceRegion,
          sourceImageId: c.amiId!,
          name: c.name,
          description: c.description ?? undefined,
          clientToken: copyClientToken(c.id, copy.region),
          tags: imageTags(c),
        });
        ec2Calls++;
      }
      const patch = await lifecycle.recordCopy(deps, c, copy.region, amiId);
      if (!patch) {
        await removeLateImage(deps, c, { region: copy.region, amiId });
        return {};
      }
      // CopyImageTags is not honoured everywhere (moto): tag the copy explicitly too.
      await ec2.createTags(copy.region, [amiId], imageTags(c)).catch((err: unknown) => {
        log.warn({ err, creationId: c.id, region: copy.region }, 'tagging the copy failed');
      });
      return patch;
    } catch (err) {
      if (isRejection(err)) {
        const reason = toDomainError(err).message;
        return { status: 'FAILED', message: `Copy failed: ${reason}`, failureReason: reason, completedAt: now };
      }
      regionFailed(copy.region, err);
      return { message: 'Waiting to start the copy (EC2 is busy)' };
    }
  }

  async function advancePublishing(c: CreationRecord): Promise<'finished'> {
    const images = [
      { region: c.sourceRegion, amiId: c.amiId! },
      ...c.copies.filter((x) => x.status === 'COMPLETED' && x.amiId).map((x) => ({ region: x.region, amiId: x.amiId! })),
    ];
    const problems: string[] = [];
    for (const image of images) {
      const ami = findAmi(db, image.amiId);
      try {
        let makePublic = c.public;
        if (makePublic && (await ec2.getImageBlockPublicAccessState(image.region)) === 'block-new-sharing') {
          problems.push(`not made public in ${image.region}: block public access for AMIs is on`);
          makePublic = false;
        }
        if (makePublic && ami?.encrypted) {
          problems.push(`not made public in ${image.region}: the image is encrypted`);
          makePublic = false;
        }
        await applyLaunchPermissions(
          { db, ec2, now: clock.now },
          {
            region: image.region,
            amiId: image.amiId,
            snapshotIds: ami?.snapshotIds ?? [],
            ...(makePublic ? { public: true } : {}),
            addAccounts: c.shareAccounts,
          },
        );
      } catch (err) {
        if (isTransient(err)) throw err; // retried next tick
        problems.push(`${image.region}: ${toDomainError(err).message}`);
      }
    }
    const status: CreationStatus = c.copies.some((x) => x.status === 'FAILED') ? 'PARTIALLY_COMPLETED' : 'COMPLETED';
    const message = problems.length ? `${availableMessage(c)}; ${problems.join('; ')}` : undefined;
    await finish(c, status, { ...(message ? { message, failureReason: problems.join('; ') } : {}) });
    return 'finished';
  }

  function publishingMessage(c: CreationRecord): string {
    const parts: string[] = [];
    if (c.public) parts.push('Publishing to the community');
    if (c.shareAccounts.length) parts.push(`Sharing with ${c.shareAccounts.length} account${c.shareAccounts.length > 1 ? 's' : ''}`);
    return parts.join(' and ');
  }

  /** Whether this tick saw every region the creation is waiting on (needed before timing it out). */
  function observed(c: CreationRecord, obs: Observations): boolean {
    if (c.stage === 'SNAPSHOTTING') return !obs.unavailable.has(c.sourceRegion);
    if (c.stage === 'COPYING') return c.copies.every((x) => x.status !== 'IN_PROGRESS' || !obs.unavailable.has(x.region));
    return true;
  }

  /**
   * Give up after the limit (at least 2 hours): judged only after this tick's observation, so a
   * creation that finished while the server was down completes instead of timing out.
   */
  async function timeOut(c: CreationRecord): Promise<void> {
    const now = clock.now();
    const left = [
      ...(c.amiId ? [`${c.amiId} in ${c.sourceRegion}`] : []),
      ...c.copies.filter((x) => x.amiId && x.status === 'IN_PROGRESS').map((x) => `${x.amiId} in ${x.region}`),
    ];
    await finish(c, 'FAILED', {
      failureReason:
        `The creation did not finish within ${hours(maxDurationMs)}. ` +
        (left.length
          ? `The AMI ${left.join(' and ')} was left in place for you to inspect; deregister it with deregisterAmi if it is not needed.`
          : 'No AMI was registered.'),
      copies: c.copies
        .filter((x) => x.status === 'PENDING' || x.status === 'IN_PROGRESS')
        .map((x) => ({
          region: x.region,
          patch: {
            status: 'FAILED' as const,
            message: x.amiId ? `Still copying after ${hours(maxDurationMs)}; ${x.amiId} was left in place` : 'Not started before the time limit',
            failureReason: `did not finish within ${hours(maxDurationMs)}`,
            completedAt: now,
          },
        })),
    });
  }

  async function advance(c: CreationRecord, obs: Observations): Promise<boolean> {
    const now = clock.now();
    let result: CreationPatch | 'finished';
    switch (c.stage) {
      case 'SNAPSHOTTING':
        if (obs.unavailable.has(c.sourceRegion)) return false;
        result = await advanceSnapshotting(c, obs);
        break;
      case 'COPYING':
        result = await advanceCopying(c, obs);
        break;
      case 'PUBLISHING':
        result = await advancePublishing(c);
        break;
      default:
        return false;
    }
    if (result === 'finished') return true;
    if (now - c.createdAt > maxDurationMs && observed(c, obs)) {
      await timeOut(findCreation(db, c.id) ?? c);
      return true;
    }
    const changed = Object.entries(result).some(([k, v]) => JSON.stringify(c[k as keyof CreationRecord]) !== JSON.stringify(v));
    if (!changed) return false;
    if (!(await lifecycle.applyProgress(deps, c.id, result))) return false;
    // A stage change is acted on at once rather than one interval later.
    if (result.stage && result.stage !== c.stage) {
      const next = findCreation(db, c.id);
      if (next && (next.stage === 'COPYING' || next.stage === 'PUBLISHING')) await advance(next, obs);
    }
    return true;
  }

  /** Cancels interrupted by a crash or an EC2 error: remove what is left, then end them. */
  const cancelRetry = new Map<string, { at: number; failures: number }>();
  async function sweepCancelled(): Promise<void> {
    for (const c of listCancellingCreations(db)) {
      const retry = cancelRetry.get(c.id);
      if (!regionReady(c.sourceRegion) || (retry && retry.at > clock.now())) continue;
      let done = false;
      try {
        done = await finishCancel(deps, c.id);
      } catch (err) {
        log.error({ err, creationId: c.id }, 'finishing a cancel failed; will retry');
      }
      if (done) {
        cancelRetry.delete(c.id);
      } else {
        // EC2 keeps refusing (permissions, a snapshot still in use): ask less and less often.
        const failures = (retry?.failures ?? 0) + 1;
        cancelRetry.set(c.id, { at: clock.now() + Math.min(options.intervalMs * 2 ** failures, 5 * 60 * 1000), failures });
      }
    }
  }

  async function tick(): Promise<TickReport> {
    const started = performance.now();
    const report = await tickWork();
    options.onTick?.(report, performance.now() - started);
    return report;
  }

  async function tickWork(): Promise<TickReport> {
    const callsBefore = ec2Calls;
    tagBudget.clear();
    await sweepCancelled();
    const active = listActiveCreations(db).filter((c) => !deps.inFlight.has(c.id));
    const orphans = active.filter((c) => !c.amiId);
    if (orphans.length) await resumeOrphans(orphans);
    const tracked = listActiveCreations(db).filter((c) => !deps.inFlight.has(c.id) && c.amiId);
    const obs = await observe(tracked);
    let changed = 0;
    // A few creations at a time: one slow call (a CopyImage being retried) does not hold up the rest.
    const queue = [...tracked];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          if (await advance(c, obs)) changed++;
        } catch (err) {
          // One creation's failure never blocks the others, nor kills the loop.
          const level = isTransient(err) ? 'warn' : 'error';
          log[level]({ err, creationId: c.id, stage: c.stage }, 'advancing a creation failed; will retry next tick');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ADVANCE_CONCURRENCY, queue.length) }, worker));
    lastTickAt = clock.now();
    const regions = new Set(tracked.flatMap((c) => [c.sourceRegion, ...c.copies.map((x) => x.region)]));
    return {
      creations: tracked.length,
      regions: regions.size,
      ec2Calls: ec2Calls - callsBefore,
      changed,
      skippedRegions: [...obs.unavailable],
    };
  }

  /** Ticks never overlap, whether the loop or a test (or both) ask for one. */
  let chain: Promise<unknown> = Promise.resolve();
  function runOnce(): Promise<TickReport> {
    const next = chain.then(tick);
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      current = runOnce()
        .catch((err: unknown) => log.error({ err }, 'tracker tick failed'))
        .finally(() => {
          current = undefined;
          schedule();
        });
    }, options.intervalMs);
    timer.unref?.();
  }

  return {
    /** Idempotent. The first tick runs at once so restarts resume without waiting. */
    start(): void {
      if (running) return;
      running = true;
      current = runOnce()
        .catch((err: unknown) => log.error({ err }, 'tracker tick failed'))
        .finally(() => {
          current = undefined;
          schedule();
        });
    },
    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
      await chain; // a runOnce() asked for from outside the loop
    },
    runOnce,
    isRunning: () => running,
    lastTickAt: () => lastTickAt,
  };
}

/** The fields of a patch that differ from the row: a tick writes (and publishes) only what changed. */
function changes<T extends object>(row: T, patch: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch) as [keyof T, T[keyof T]][]) {
    if (JSON.stringify(row[k]) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} hours`;
}

/** Deterministic per creation and region, so a retried CopyImage never makes a second copy. */
export function copyClientToken(creationId: string, region: string): string {
  return `prism-${createHash('sha256').update(`${creationId}:${region}`).digest('hex').slice(0, 48)}`;
}
