// Responsible for a creation's progress and ETA from what this tick saw: the weighted share of
// work done (source snapshots, then its encrypted copy, then copies, then settings, then publishing), never decreasing, and the seconds
// left at the rate observed since the first observation.
import type { CreationPatch, CreationRecord } from '../../db/creations.js';
import { estimateSecondsRemaining, percent, totalWork, workDone, type WorkDone, type WorkPlan } from '../progress.js';
import type { TrackerContext } from './context.js';
import { imageFraction, type Observations } from './observe.js';
import { hasSettings, publishes } from './stages.js';
import { settingsPendingRegions } from './messages.js';

export function plan(c: CreationRecord): WorkPlan {
  return {
    sizeGiB: c.sizeGiB,
    copies: c.copies.length,
    encrypts: c.encrypt,
    publishes: publishes(c),
    settings: hasSettings(c),
  };
}

/** The share of images whose settings are applied: none before the stage, all after it. */
function settingsFraction(c: CreationRecord): number {
  if (c.stage === 'PUBLISHING' || c.stage === 'DONE') return 1;
  if (c.stage !== 'APPLYING_SETTINGS') return 0;
  const images = 1 + c.copies.filter((x) => x.status === 'COMPLETED').length;
  return 1 - settingsPendingRegions(c).length / images;
}

/** Work done so far; before copies start, the progress so far is the source's share. */
function measure(c: CreationRecord, obs: Observations, sourceFraction?: number): WorkDone {
  const source = sourceFraction ?? (c.stage === 'SNAPSHOTTING' ? c.progress / 100 : 1);
  const copies = c.copies.map((copy) => {
    if (copy.status === 'COMPLETED') return 1;
    if (copy.status !== 'IN_PROGRESS' || !copy.amiId) return copy.progress / 100;
    const img = obs.images.get(copy.amiId);
    return img ? imageFraction(img, obs) : copy.progress / 100;
  });
  return {
    source,
    encryption: encryptionFraction(c, obs),
    copies,
    settings: settingsFraction(c),
    publish: c.stage === 'DONE' ? 1 : 0,
  };
}

/** The encrypted copy's snapshot progress while encrypting (like a copy's); all done after, none before. */
function encryptionFraction(c: CreationRecord, obs: Observations): number {
  if (!c.encrypt || c.stage === 'SNAPSHOTTING') return 0;
  if (c.stage !== 'ENCRYPTING') return 1;
  // Until E's id is stored, the creation's amiId is still the unencrypted image.
  const known = c.amiId && c.unencryptedAmiId && c.amiId !== c.unencryptedAmiId;
  const img = known ? obs.images.get(c.amiId!) : undefined;
  return img ? imageFraction(img, obs) : 0;
}

export function progressFields(
  ctx: TrackerContext,
  c: CreationRecord,
  obs: Observations,
  sourceFraction?: number,
): CreationPatch {
  const now = ctx.deps.clock.now();
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
    minObservationMs: Math.min(5000, ctx.settings.intervalMs * 1.5),
  });
  return patch;
}
