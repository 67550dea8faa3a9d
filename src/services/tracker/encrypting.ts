// Responsible for the ENCRYPTING stage: CreateImage made an unencrypted image U; it is copied in
// its own region with Encrypted and the creation's key into E, which becomes the creation's AMI.
// Once E is available, U is deregistered and its snapshots deleted (as Packer's encrypt_boot
// does), so that only encrypted images remain; if E fails, U is removed too.
//
// Entering the stage records U (unencryptedAmiId) before CopyImage is sent: while the creation's
// amiId is still U, E's id was never stored, and E is looked for by the creation-id tag before
// CopyImage is sent (again); the ClientToken makes a repeated CopyImage answer E on EC2 as well.
import { findCreation, type CreationRecord } from '../../db/creations.js';
import { removeLateImage } from '../cancellation.js';
import { applyProgress, recordEncryptedImage, retireUnencryptedImage } from '../creations/lifecycle.js';
import { isRejection, toDomainError } from '../ec2/errors.js';
import { isManagedKey } from '../encryption.js';
import { deleteSnapshotsOnEc2, deregisterOnEc2 } from '../image-removal.js';
import { imageTags, TAG_CREATION_ID } from '../system-tags.js';
import type { TrackerContext } from './context.js';
import { copyClientToken } from './copying.js';
import { progressFields } from './estimate.js';
import { complete, fail } from './finishing.js';
import { sourceImageTarget, stepImage, type SnapshotPatch } from './image-step.js';
import { encryptingMessage, encryptionFailedReason, replacedByEncryptedReason, stageMessage } from './messages.js';
import type { Observations } from './observe.js';
import type { StageResult } from './snapshotting.js';
import { nextStage } from './stages.js';

/** Whether the encrypted copy's id is known yet (until then the creation's amiId is still U). */
export const encryptedImageKnown = (c: CreationRecord): boolean => c.amiId !== null && c.amiId !== c.unencryptedAmiId;

export async function advanceEncrypting(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> {
  if (!encryptedImageKnown(c)) return requestEncryptedCopy(ctx, c);
  const step = await stepImage(ctx, c, sourceImageTarget(c, c.imageRequestedAt ?? c.updatedAt), obs);
  switch (step.state) {
    case 'waiting':
      return { patch: { message: step.message }, copies: [] };
    case 'gone':
    case 'failed':
      await encryptionFailed(ctx, c, step.reason);
      return 'finished';
    case 'available':
      return encrypted(ctx, c, step.patch);
    case 'pending': {
      const pct = Math.floor(step.fraction * 100);
      return { patch: { ...step.patch, message: encryptingMessage(c, pct), ...progressFields(ctx, c, obs, 1) }, copies: [] };
    }
  }
}

/** Find E (after a crash) or send CopyImage; E becomes the creation's AMI. */
async function requestEncryptedCopy(ctx: TrackerContext, c: CreationRecord): Promise<StageResult> {
  let amiId: string;
  try {
    amiId = (await findEarlierEncryptedCopy(ctx, c)) ?? (await sendEncryptedCopy(ctx, c));
  } catch (err) {
    if (isRejection(err)) {
      await encryptionFailed(ctx, c, toDomainError(err).message);
      return 'finished';
    }
    // Not answered (throttled, network): asked again, after a look for E, once the region is ready.
    ctx.regions.failed(c.sourceRegion, err);
    return { patch: { message: 'Waiting to encrypt the image (EC2 is busy)' }, copies: [] };
  }
  if (!(await recordEncryptedImage(ctx.deps, c, amiId, encryptingMessage(c, 0)))) {
    await removeLateImage(ctx.deps, c, { region: c.sourceRegion, amiId });
    return 'finished';
  }
  // CopyImageTags is not honoured everywhere (moto): tag E explicitly too.
  await ctx.deps.ec2.createTags(c.sourceRegion, [amiId], imageTags(c)).catch((err: unknown) => {
    ctx.log.warn({ err, creationId: c.id }, 'tagging the encrypted image failed');
  });
  return 'written';
}

/** E requested before a crash whose id was never stored: the creation's tagged image that is not U. */
async function findEarlierEncryptedCopy(ctx: TrackerContext, c: CreationRecord): Promise<string | undefined> {
  const found = await ctx.deps.ec2.findImages(c.sourceRegion, { tag: { key: TAG_CREATION_ID, values: [c.id] } });
  const amiId = found.find((i) => i.id !== c.unencryptedAmiId && i.state !== 'deregistered')?.id;
  if (amiId) ctx.log.info({ creationId: c.id, amiId }, 'adopted the encrypted copy of an unconfirmed CopyImage');
  return amiId;
}

function sendEncryptedCopy(ctx: TrackerContext, c: CreationRecord): Promise<string> {
  return ctx.deps.ec2.copyImage(c.sourceRegion, {
    sourceRegion: c.sourceRegion,
    sourceImageId: c.unencryptedAmiId!,
    name: c.name,
    description: c.description ?? undefined,
    clientToken: encryptionClientToken(c.id),
    tags: imageTags(c),
    encrypted: true,
    ...(isManagedKey(c.kmsKeyId) ? {} : { kmsKeyId: c.kmsKeyId! }),
  });
}

/** Deterministic per creation, and apart from every copy's token (copies never go to the source region). */
export const encryptionClientToken = (creationId: string) => copyClientToken(creationId, 'encrypted');

/** Deregister U and delete its snapshots; something already gone counts as removed. */
async function removeUnencrypted(ctx: TrackerContext, c: CreationRecord): Promise<void> {
  const image = { region: c.sourceRegion, amiId: c.unencryptedAmiId!, snapshotIds: c.unencryptedSnapshotIds ?? [] };
  const snapshotIds = await deregisterOnEc2(ctx.deps.ec2, image);
  await deleteSnapshotsOnEc2(ctx.deps.ec2, c.sourceRegion, snapshotIds);
}

/** E is available: U goes (an EC2 error is retried next tick, E staying available), then the next stage. */
async function encrypted(ctx: TrackerContext, c: CreationRecord, patch: SnapshotPatch): Promise<StageResult> {
  await removeUnencrypted(ctx, c);
  await retireUnencryptedImage(ctx.deps, c, replacedByEncryptedReason(c.amiId!));
  const stage = nextStage(c, 'ENCRYPTING');
  if (stage !== 'DONE') return { patch: { ...patch, stage, message: stageMessage(c, stage) }, copies: [] };
  await applyProgress(ctx.deps, c.id, patch);
  const current = await findCreation(ctx.deps.db, c.id);
  if (current) await complete(ctx, current);
  return 'finished';
}

/** The creation fails with EC2's reason, and nothing unencrypted is left: U is removed first. */
async function encryptionFailed(ctx: TrackerContext, c: CreationRecord, reason: string): Promise<void> {
  await removeUnencrypted(ctx, c);
  await retireUnencryptedImage(ctx.deps, c, `Removed after encrypting it failed: ${reason}`);
  const now = ctx.deps.clock.now();
  const notStarted = { status: 'FAILED' as const, message: 'Not started: encrypting the image failed', completedAt: now };
  await fail(
    ctx,
    c,
    encryptionFailedReason(reason, c.unencryptedAmiId!),
    c.copies.map((x) => ({ region: x.region, patch: notStarted })),
  );
}
