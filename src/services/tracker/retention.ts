// Responsible for a creation's retention (createAmi's `retention: { keepLatest }`): once its AMI is
// available, the owner's older AMIs of the same template beyond the newest keepLatest are
// deregistered in every region and their snapshots deleted. EC2 is asked first; the AMI rows turn
// DEREGISTERED (with the reason) in the creation's final write, so its message and the rows agree.
//
// What counts: a unit is one captured AMI with its regional copies (the images of one creation;
// an image without a creation is a unit of its own), ordered by when it was captured. The creation
// being completed is the newest unit and one of those kept. Units still being made (an active
// creation, a cancel still cleaning up, an image still pending) are never retired and count
// neither way; nor do units with no available image left (deregistered or failed).
//
// Retrying: a throttled or failing (5xx) EC2 call throws, the tick ends and the next one asks
// again; what is already gone from EC2 is not asked for again. Any other refusal of one image is
// reported in the message and does not fail the creation.
import { amisOfTemplate, type TemplateAmi } from '../../db/amis.js';
import type { CreationRecord } from '../../db/creations.js';
import type { AmiRow } from '../../db/schema.js';
import { applyProgress, type AmiChange, type CopyChange } from '../creations/lifecycle.js';
import { isDeregistrationProtected, isTransient, toDomainError } from '../ec2/errors.js';
import type { Ec2Gateway } from '../ec2/types.js';
import { deleteSnapshotsOnEc2, deregisteredPatch, deregisterOnEc2 } from '../image-removal.js';
import type { TrackerContext } from './context.js';
import { retentionSummary, retiredReason, retiringMessage, type RetentionReport } from './messages.js';

export interface RetentionUnit {
  /** The source image's id: the one a person knows the AMI by. */
  amiId: string;
  capturedAt: number;
  images: AmiRow[];
}

export interface RetentionResult {
  /** The retired images' rows, to be written with the creation's ending. */
  amis: AmiChange[];
  /** What retention did, for the creation's final message; undefined when there was nothing to do. */
  summary: string | undefined;
}

const NOTHING: RetentionResult = { amis: [], summary: undefined };

/**
 * Retire what the creation's retention says is too old. `copies` are the copies' last changes,
 * written with the "Retiring…" message so that a retry next tick finds them done.
 */
export async function applyRetention(
  ctx: TrackerContext,
  c: CreationRecord,
  copies: CopyChange[] = [],
): Promise<RetentionResult> {
  const keepLatest = c.retentionKeepLatest;
  if (!keepLatest || !c.templateName || !c.amiId) return NOTHING;
  const units = unitsToRetire(await amisOfTemplate(ctx.deps.db, c.owner, c.templateName), c.id, keepLatest);
  if (units.length === 0) return NOTHING;
  // A creation cancelled meanwhile retires nothing: the cancel wins.
  if (!(await applyProgress(ctx.deps, c.id, { message: retiringMessage(c.templateName) }, copies))) return NOTHING;
  const report: RetentionReport = { templateName: c.templateName, retired: [], kept: [], problems: [] };
  const retired: AmiRow[] = [];
  for (const unit of units) retired.push(...(await retireUnit(ctx.deps.ec2, unit, report)));
  const now = ctx.deps.clock.now();
  const reason = retiredReason(c.templateName, keepLatest, c.amiId);
  ctx.log.info(
    { creationId: c.id, templateName: c.templateName, retired: retired.map((a) => a.amiId), kept: report.kept },
    'retention',
  );
  return {
    amis: retired.map((a) => ({ amiId: a.amiId, patch: deregisteredPatch(now, reason) })),
    summary: retentionSummary(report),
  };
}

/** The settled units beyond the newest `keepLatest`, the creation `currentId` counting as the newest. */
export function unitsToRetire(rows: readonly TemplateAmi[], currentId: string, keepLatest: number): RetentionUnit[] {
  const byUnit = new Map<string, TemplateAmi[]>();
  for (const row of rows) {
    const key = row.creationId ?? row.amiId;
    const unit = byUnit.get(key);
    if (unit) unit.push(row);
    else byUnit.set(key, [row]);
  }
  const settled: RetentionUnit[] = [];
  for (const [key, images] of byUnit) {
    if (key === currentId) continue;
    if (images.some((i) => i.creationActive || i.state === 'PENDING')) continue;
    if (!images.some((i) => i.state === 'AVAILABLE')) continue;
    const source = images.find((i) => i.amiId === i.creationAmiId) ?? images[0]!;
    settled.push({ amiId: source.amiId, capturedAt: source.createdAt, images });
  }
  settled.sort((a, b) => b.capturedAt - a.capturedAt || (a.amiId < b.amiId ? 1 : -1));
  return settled.slice(Math.max(0, keepLatest - 1));
}

/**
 * Why a unit that retention would retire stays; undefined when it may go. One place for every
 * such rule, so that protection recorded by the service can join "public" here.
 */
export function keepReason(unit: RetentionUnit): string | undefined {
  if (unit.images.some((i) => i.state === 'AVAILABLE' && i.visibility === 'PUBLIC')) return 'public';
  if (unit.images.some((i) => i.state === 'AVAILABLE' && i.deregistrationProtection)) return 'deregistration protection is on';
  return undefined;
}

/** Retire a unit's available images (source and copies); the images EC2 no longer lists afterwards. */
async function retireUnit(ec2: Ec2Gateway, unit: RetentionUnit, report: RetentionReport): Promise<AmiRow[]> {
  const why = keepReason(unit);
  if (why) {
    report.kept.push(`${unit.amiId} (${why})`);
    return [];
  }
  const retired: AmiRow[] = [];
  for (const image of unit.images.filter((i) => i.state === 'AVAILABLE')) {
    try {
      report.problems.push(...(await retireImage(ec2, image)));
      retired.push(image);
    } catch (err) {
      if (isTransient(err)) throw err; // the next tick retries
      if (isDeregistrationProtected(err)) report.kept.push(`${image.amiId} (deregistration protection is on)`);
      else report.problems.push(`could not retire ${image.amiId} in ${image.region}: ${toDomainError(err).message}`);
    }
  }
  if (retired.length) report.retired.push({ amiId: unit.amiId, withCopies: retired.some((i) => i.amiId !== unit.amiId) });
  return retired;
}

/**
 * Deregister one image and delete the snapshots still there (asked first, so a retry does not ask
 * EC2 to delete what is gone); the problems that leave snapshots behind.
 */
async function retireImage(ec2: Ec2Gateway, image: AmiRow): Promise<string[]> {
  const snapshotIds = await deregisterOnEc2(ec2, image);
  const left = snapshotIds.length ? await ec2.describeSnapshots(image.region, snapshotIds) : [];
  try {
    await deleteSnapshotsOnEc2(
      ec2,
      image.region,
      left.map((s) => s.id),
    );
    return [];
  } catch (err) {
    if (isTransient(err)) throw err;
    return [`${image.amiId} was deregistered but not all of its snapshots were deleted: ${toDomainError(err).message}`];
  }
}
