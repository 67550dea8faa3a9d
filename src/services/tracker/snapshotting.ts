// Responsible for the SNAPSHOTTING stage: the source image's snapshots progress until EC2 marks
// the image available; then the creation moves on to encrypting, copying, publishing, or completes.
import { findCreation, type CreationPatch, type CreationRecord } from '../../db/creations.js';
import { applyProgress, type CopyChange } from '../creations/lifecycle.js';
import type { TrackerContext } from './context.js';
import type { Ec2Image } from '../ec2/types.js';
import { progressFields } from './estimate.js';
import { complete, fail } from './finishing.js';
import { sourceImageTarget, stepImage, type SnapshotPatch } from './image-step.js';
import { snapshotMessage, stageMessage } from './messages.js';
import type { Observations } from './observe.js';
import { nextStage } from './stages.js';

/** What a stage step saw: the creation's and its copies' changes to write, or the creation has ended. */
export interface StageChange {
  patch: CreationPatch;
  copies: CopyChange[];
}
/** 'written': the step wrote its changes itself (through the lifecycle), and the creation goes on. */
export type StageResult = StageChange | 'finished' | 'written';

const change = (patch: CreationPatch): StageChange => ({ patch, copies: [] });

export async function advanceSnapshotting(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> {
  const step = await stepImage(ctx, c, sourceImageTarget(c, c.imageRequestedAt ?? c.createdAt), obs);
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
      return sourceAvailable(ctx, c, obs, step.image, step.patch);
    case 'pending': {
      const pct = Math.floor(step.fraction * 100);
      return change({ ...step.patch, message: snapshotMessage(pct), ...progressFields(ctx, c, obs, step.fraction) });
    }
  }
}

async function sourceAvailable(
  ctx: TrackerContext,
  c: CreationRecord,
  obs: Observations,
  image: Ec2Image,
  patch: SnapshotPatch,
): Promise<StageResult> {
  const stage = nextStage(c, 'SNAPSHOTTING');
  if (stage === 'ENCRYPTING') {
    // U is recorded before its encrypted copy is requested, so a crash in between loses neither.
    return change({
      ...patch,
      stage,
      unencryptedAmiId: image.id,
      unencryptedSnapshotIds: image.snapshotIds,
      message: stageMessage(c, stage),
      ...progressFields(ctx, { ...c, stage, unencryptedAmiId: image.id }, obs, 1),
    });
  }
  if (stage !== 'DONE') return change({ ...patch, stage, message: stageMessage(c, stage) });
  await applyProgress(ctx.deps, c.id, patch);
  const current = await findCreation(ctx.deps.db, c.id);
  if (current) await complete(ctx, current);
  return 'finished';
}
