// Responsible for the APPLYING_SETTINGS stage: on the source image and every completed copy, each
// in its own region, EnableImageDeprecation, EnableImageDeregistrationProtection, ModifyImageAttribute
// ImdsSupport=v2.0 and the SSM parameter holding the image's id, as the creation asks. Each setting
// done is recorded on the AMI row at once and each image once all its settings are done, so a
// throttled call retries next tick with only what is left. A refusal (EC2 or SSM says no) is not
// retried: it is reported in the final message and the creation still completes.
import { findAmi, type AmiPatch, type AmiRecord } from '../../db/amis.js';
import { findCreation, type CreationRecord } from '../../db/creations.js';
import { isTerminal } from '../../db/schema.js';
import { recordSettingsApplied, updateAmiWhileTracked } from '../creations/lifecycle.js';
import { Ec2CallError, isTransient, toDomainError } from '../ec2/errors.js';
import type { TrackerContext } from './context.js';
import { progressFields } from './estimate.js';
import { complete } from './finishing.js';
import { settingsMessage, stageMessage } from './messages.js';
import type { Observations } from './observe.js';
import type { StageResult } from './snapshotting.js';
import { nextStage } from './stages.js';

interface Image {
  region: string;
  amiId: string;
}

/** One setting: whether the AMI row already has it, the call that applies it, and what the row records. */
interface Setting {
  label: string;
  done: (ami: AmiRecord | undefined) => boolean;
  apply: (ctx: TrackerContext, image: Image) => Promise<unknown>;
  patch: AmiPatch;
}

export async function advanceApplyingSettings(ctx: TrackerContext, c: CreationRecord, obs: Observations): Promise<StageResult> {
  const settled: string[] = [];
  const problems: string[] = [];
  for (const image of pendingImages(c)) {
    if (!ctx.regions.ready(image.region)) continue;
    try {
      problems.push(...(await applySettings(ctx, c, image)));
      settled.push(image.region);
    } catch (err) {
      if (!isTransient(err)) throw err;
      // What was done stays recorded on the AMI row; the rest is asked again after the backoff.
      ctx.regions.failed(image.region, err);
    }
  }
  await recordSettingsApplied(ctx.deps, c, settled, problems);
  const current = (await findCreation(ctx.deps.db, c.id)) ?? c;
  if (isTerminal(current.status)) return 'finished';
  if (pendingImages(current).length) {
    return { patch: { message: settingsMessage(current), ...progressFields(ctx, current, obs, 1) }, copies: [] };
  }
  const next = nextStage(current, 'APPLYING_SETTINGS');
  if (next === 'DONE') {
    // The problems recorded in failureReason are the final message's; complete adds them.
    await complete(ctx, current);
    return 'finished';
  }
  const entered = { ...current, stage: next };
  return { patch: { stage: next, message: stageMessage(current, next), ...progressFields(ctx, entered, obs, 1) }, copies: [] };
}

/** The source image unless done, then every completed copy not done, in the order of the copies. */
function pendingImages(c: CreationRecord): Image[] {
  return [
    ...(c.settingsAppliedAt === null && c.amiId ? [{ region: c.sourceRegion, amiId: c.amiId }] : []),
    ...c.copies
      .filter((x) => x.status === 'COMPLETED' && x.amiId && x.settingsAppliedAt === null)
      .map((x) => ({ region: x.region, amiId: x.amiId! })),
  ];
}

/** Every setting of the creation not yet on the image's row; the refusals, one sentence each. Throws what is transient. */
async function applySettings(ctx: TrackerContext, c: CreationRecord, image: Image): Promise<string[]> {
  const problems: string[] = [];
  for (const setting of settingsOf(c)) {
    if (setting.done(await findAmi(ctx.deps.db, image.amiId))) continue;
    try {
      await setting.apply(ctx, image);
    } catch (err) {
      if (isTransient(err)) throw err;
      problems.push(`${setting.label} not applied in ${image.region}: ${refusal(err)}`);
      ctx.log.warn({ err, creationId: c.id, region: image.region, amiId: image.amiId }, `${setting.label} refused`);
      continue;
    }
    await updateAmiWhileTracked(ctx.deps, c.id, image.amiId, { ...setting.patch, updatedAt: ctx.deps.clock.now() });
  }
  ctx.regions.succeeded(image.region);
  return problems;
}

/** The settings the creation asks for, in the order they are applied. */
function settingsOf(c: CreationRecord): Setting[] {
  const out: Setting[] = [];
  const { deprecateAt, ssmParameter } = c;
  if (deprecateAt !== null) {
    out.push({
      label: 'deprecation',
      done: (ami) => ami?.deprecationTime != null,
      apply: (ctx, i) => ctx.deps.ec2.enableImageDeprecation(i.region, i.amiId, deprecateAt),
      patch: { deprecationTime: deprecateAt },
    });
  }
  if (c.deregistrationProtection) {
    out.push({
      label: 'deregistration protection',
      done: (ami) => ami?.deregistrationProtection === true,
      apply: (ctx, i) => ctx.deps.ec2.enableDeregistrationProtection(i.region, i.amiId),
      patch: { deregistrationProtection: true },
    });
  }
  if (c.requireImdsV2) {
    out.push({
      label: 'IMDSv2',
      done: (ami) => ami?.imdsSupport === 'v2.0',
      apply: (ctx, i) => ctx.deps.ec2.setImdsSupport(i.region, i.amiId),
      patch: { imdsSupport: 'v2.0' },
    });
  }
  if (ssmParameter !== null) {
    out.push({
      label: `SSM parameter ${ssmParameter}`,
      done: (ami) => ami?.ssmParameter === ssmParameter,
      apply: (ctx, i) =>
        ctx.deps.ssm.putParameter(i.region, { name: ssmParameter, value: i.amiId, dataType: 'aws:ec2:image', overwrite: true }),
      patch: { ssmParameter },
    });
  }
  return out;
}

/** EC2's or SSM's own code and words: toDomainError would call an SSM refusal an EC2 one. */
function refusal(err: unknown): string {
  return err instanceof Ec2CallError ? `${err.ec2Code}: ${err.message}` : toDomainError(err).message;
}
