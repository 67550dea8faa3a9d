// Responsible for moving one tracked creation on by one tick: the step of its stage, the time
// limit, and writing what changed. A stage change is acted on at once rather than one interval later.
import { findCreation, type CreationRecord } from '../../db/creations.js';
import { applyProgress } from '../creations/lifecycle.js';
import type { TrackerContext } from './context.js';
import { advanceCopying } from './copying.js';
import { advanceEncrypting, encryptedImageKnown } from './encrypting.js';
import { observedAll, timeOut } from './finishing.js';
import type { Observations } from './observe.js';
import { advancePublishing } from './publishing.js';
import { advanceApplyingSettings } from './settings.js';
import { advanceSnapshotting, type StageResult } from './snapshotting.js';

/** Whether the creation changed. */
export async function advance(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<boolean> {
  const now = ctx.deps.clock.now();
  const result = await stageStep(ctx, c, obs);
  if (result === undefined) return false;
  if (result === 'finished' || result === 'written') return true;
  const { patch, copies } = result;
  if (now - c.createdAt > ctx.settings.maxDurationMs && observedAll(c, obs)) {
    // What the copies reached in this tick stands; only what is still under way times out.
    if (copies.length) await applyProgress(ctx.deps, c.id, {}, copies);
    await timeOut(ctx, (await findCreation(ctx.deps.db, c.id)) ?? c);
    return true;
  }
  const changed = Object.entries(patch).some(([k, v]) => JSON.stringify(c[k as keyof CreationRecord]) !== JSON.stringify(v));
  if (!changed && copies.length === 0) return false;
  // The creation's and its copies' changes of this tick, in one transaction.
  if (!(await applyProgress(ctx.deps, c.id, changed ? patch : {}, copies))) return false;
  if (!changed) return false;
  if (patch.stage && patch.stage !== c.stage) {
    const next = await findCreation(ctx.deps.db, c.id);
    // Every stage after SNAPSHOTTING starts with requests of its own (ENCRYPTING's CopyImage was
    // recorded by the stage change), not with an observation.
    if (next && next.stage !== c.stage && next.stage !== 'SNAPSHOTTING') await advance(ctx, next, obs);
  }
  return true;
}

/** The step of the creation's stage; undefined when there is nothing to do this tick. */
function stageStep(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> | undefined {
  switch (c.stage) {
    case 'SNAPSHOTTING':
      return obs.unavailable.has(c.sourceRegion) ? undefined : advanceSnapshotting(ctx, c, obs);
    case 'ENCRYPTING':
      // Until E's id is known nothing was observed of it: only the region's backoff holds the request back.
      if (encryptedImageKnown(c) ? obs.unavailable.has(c.sourceRegion) : !ctx.regions.ready(c.sourceRegion)) return undefined;
      return advanceEncrypting(ctx, c, obs);
    case 'COPYING':
      return advanceCopying(ctx, c, obs);
    case 'APPLYING_SETTINGS':
      return advanceApplyingSettings(ctx, c, obs);
    case 'PUBLISHING':
      return advancePublishing(ctx, c);
    default:
      return undefined;
  }
}
