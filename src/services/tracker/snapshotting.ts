// Responsible for the SNAPSHOTTING stage: the source image's snapshots progress until EC2 marks
// the image available; then the creation moves on to copying, publishing, or completes.
import { findCreation, type CreationPatch, type CreationRecord } from '../../db/creations.js';
import { applyProgress, type CopyChange } from '../creations/lifecycle.js';
import type { TrackerContext } from './context.js';
import { progressFields } from './estimate.js';
import { complete, fail } from './finishing.js';
import { stepImage, type SnapshotPatch } from './image-step.js';
import { snapshotMessage } from './messages.js';
import type { Observations } from './observe.js';
import { enterStage, nextStage } from './stages.js';

/** What a stage step saw: the creation's and its copies' changes to write, or the creation has ended. */
export interface StageChange {
  patch: CreationPatch;
  copies: CopyChange[];
}
export type StageResult = StageChange | 'finished';

const change = (patch: CreationPatch): StageChange => ({ patch, copies: [] });

export async function advanceSnapshotting(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> {
  const target = {
    kind: 'image' as const,
    region: c.sourceRegion,
    amiId: c.amiId!,
    snapshotIds: c.snapshotIds,
    snapshotsTagged: c.snapshotsTagged,
    requestedAt: c.imageRequestedAt ?? c.createdAt,
  };
  const step = await stepImage(ctx, c, target, obs);
  switch (step.state) {
    case 'waiting':
      return change({ message: step.message });
    case 'gone':
      await fail(ctx, c, step.reason);
      return 'finished';
    case 'failed': {
      const now = ctx.deps.clock.now();
      const notStarted = { status: 'FAILED' as const, message: 'Not started: the source image failed', completedAt: now };
      await fail(
        ctx,
        c,
        step.reason,
        c.copies.map((x) => ({ region: x.region, patch: notStarted })),
      );
      return 'finished';
    }
    case 'available':
      return sourceAvailable(ctx, c, step.patch);
    case 'pending': {
      const pct = Math.floor(step.fraction * 100);
      return change({ ...step.patch, message: snapshotMessage(pct), ...progressFields(ctx, c, obs, step.fraction) });
    }
  }
}

async function sourceAvailable(ctx: TrackerContext, c: CreationRecord, patch: SnapshotPatch): Promise<StageResult> {
  const next = nextStage(c, 'SNAPSHOTTING');
  if (next !== 'DONE') return change({ ...patch, ...enterStage(c, next) });
  await applyProgress(ctx.deps, c.id, patch);
  const current = await findCreation(ctx.deps.db, c.id);
  if (current) await complete(ctx, current);
  return 'finished';
}
