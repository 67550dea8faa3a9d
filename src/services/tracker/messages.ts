// Responsible for the sentences a person reads about a creation while the tracker moves it on
// ("Creating snapshot - 75% complete", "Copying to us-west-2 - 40%") and when it ends.
import type { CreationRecord } from '../../db/creations.js';
import type { RegionCopyRow } from '../../db/schema.js';

export type ImageKind = 'image' | 'copy';

export const snapshotMessage = (pct: number) => `Creating snapshot - ${pct}% complete`;

export const copyProgressMessage = (pct: number) => `Copying - ${pct}%`;

/** Whether the copy waits in its region's queue behind EC2's limit of concurrent copies. */
export const isQueued = (x: RegionCopyRow) => x.status === 'PENDING' && x.amiId === null && x.queuedAt !== null;

export function copyingMessage(copies: RegionCopyRow[]): string {
  const parts = copies.map((x) =>
    x.status === 'COMPLETED'
      ? `${x.region} done`
      : x.status === 'FAILED'
        ? `${x.region} failed`
        : isQueued(x)
          ? `${x.region} (queued)`
          : `${x.region} - ${x.progress}%`,
  );
  return `Copying to ${parts.join(', ')}`;
}

/** A queued copy's message: how many of this service's copies to the region hold the limit, as far as it knows. */
export const queuedMessage = (inProgress: number, region: string) =>
  inProgress > 0
    ? `Queued: ${inProgress} ${inProgress === 1 ? 'copy' : 'copies'} already in progress to ${region}`
    : `Queued: EC2's limit of concurrent copies to ${region} is reached`;

/** The key a person reads in the encryption's messages. */
export const keyLabel = (kmsKeyId: string | null) =>
  !kmsKeyId || kmsKeyId === 'alias/aws/ebs' ? 'the AWS managed key' : kmsKeyId;

export const encryptingMessage = (c: CreationRecord, pct?: number) =>
  `Encrypting the image with ${keyLabel(c.kmsKeyId)}${pct === undefined ? '' : ` - ${pct}%`}`;

/** What a creation entering `stage` says first. */
export function stageMessage(c: CreationRecord, stage: 'ENCRYPTING' | 'COPYING' | 'APPLYING_SETTINGS' | 'PUBLISHING'): string {
  if (stage === 'ENCRYPTING') return encryptingMessage(c);
  if (stage === 'APPLYING_SETTINGS') return settingsMessage(c);
  return stage === 'COPYING' ? copiesStartingMessage(c) : publishingMessage(c);
}

/** The deregisteredReason of the unencrypted source image once its encrypted copy replaced it. */
export const replacedByEncryptedReason = (encryptedAmiId: string) => `Replaced by its encrypted copy ${encryptedAmiId}`;

/** Why an encryption failed, and that nothing unencrypted was left behind. */
export const encryptionFailedReason = (reason: string, unencryptedAmiId: string) =>
  `Encrypting the image failed: ${reason}; the unencrypted image ${unencryptedAmiId} and its snapshots were removed, so nothing unencrypted is left behind`;

export const copiesStartingMessage = (c: CreationRecord) => `Copying to ${c.copies.map((x) => x.region).join(', ')}`;

/** The images whose settings are still to be applied: the source, then each completed copy. */
export function settingsPendingRegions(c: CreationRecord): string[] {
  return [
    ...(c.settingsAppliedAt === null ? [c.sourceRegion] : []),
    ...c.copies.filter((x) => x.status === 'COMPLETED' && x.settingsAppliedAt === null).map((x) => x.region),
  ];
}

export function settingsMessage(c: CreationRecord): string {
  const regions = settingsPendingRegions(c);
  return regions.length ? `Applying settings in ${andList(regions)}` : 'Applying settings';
}

/** "a", "a and b", "a, b and c". */
export function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}

export function publishingMessage(c: CreationRecord): string {
  const parts: string[] = [];
  if (c.public) parts.push('Publishing to the community');
  if (c.shareAccounts.length)
    parts.push(`Sharing with ${c.shareAccounts.length} account${c.shareAccounts.length > 1 ? 's' : ''}`);
  return parts.join(' and ');
}

export function availableMessage(c: CreationRecord): string {
  const copies = c.copies.filter((x) => x.status === 'COMPLETED').map((x) => x.region);
  const failed = c.copies.filter((x) => x.status === 'FAILED').map((x) => x.region);
  let msg = `AMI ${c.amiId} is available in ${c.sourceRegion}`;
  if (copies.length) msg += ` and ${copies.join(', ')}`;
  if (failed.length) msg += `; copies to ${failed.join(', ')} failed`;
  return msg;
}

export const failedMessage = (reason: string | undefined) => `Failed: ${reason ?? 'unknown reason'}`;

export const waitingToListMessage = (kind: ImageKind, amiId: string) =>
  kind === 'image' ? `Waiting for EC2 to list image ${amiId}` : `Waiting for EC2 to list ${amiId}`;

export const goneReason = (kind: ImageKind, amiId: string, region: string) =>
  kind === 'image'
    ? `EC2 no longer lists image ${amiId}; it was deregistered or never registered`
    : `EC2 no longer lists copy ${amiId} in ${region}`;

export const enteredStateReason = (kind: ImageKind, amiId: string, state: string) => `${kind} ${amiId} entered state ${state}`;

export function hours(ms: number): string {
  const h = ms / 3_600_000;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} hours`;
}

/** Why a creation that ran out of time failed, and what it left in place. */
export function timedOutReason(c: CreationRecord, maxDurationMs: number): string {
  const left = [
    ...(c.amiId ? [`${c.amiId} in ${c.sourceRegion}`] : []),
    ...c.copies.filter((x) => x.amiId && x.status === 'IN_PROGRESS').map((x) => `${x.amiId} in ${x.region}`),
  ];
  return (
    `The creation did not finish within ${hours(maxDurationMs)}. ` +
    (left.length
      ? `The AMI ${left.join(' and ')} was left in place for you to inspect; deregister it with deregisterAmi if it is not needed.`
      : 'No AMI was registered.')
  );
}

export const copyTimedOutMessage = (copy: RegionCopyRow, maxDurationMs: number) =>
  copy.amiId
    ? `Still copying after ${hours(maxDurationMs)}; ${copy.amiId} was left in place`
    : isQueued(copy)
      ? `Not started before the time limit: still queued behind EC2's limit of concurrent copies to ${copy.region}`
      : 'Not started before the time limit';

export const retiringMessage = (templateName: string) => `Retiring older AMIs of template '${templateName}'`;

/** The deregisteredReason of an AMI that a newer AMI's retention retired. */
export const retiredReason = (templateName: string, keepLatest: number, newAmiId: string) =>
  `Retired by the retention of template '${templateName}' (keep latest ${keepLatest}) when ${newAmiId} became available`;

/** Up to five items, then "and N more", so that a long retention stays one readable sentence. */
export function shortList(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export interface RetentionReport {
  templateName: string;
  /** The source AMI id of each retired AMI, and whether copies in other regions went with it. */
  retired: { amiId: string; withCopies: boolean }[];
  /** "ami-… (why)" for each AMI retention would have retired but kept. */
  kept: string[];
  /** What EC2 refused, one sentence each (the creation does not fail for it). */
  problems: string[];
}

/** What retention did, for the end of the creation's final message; undefined when nothing. */
export function retentionSummary(r: RetentionReport): string | undefined {
  const parts: string[] = [];
  if (r.retired.length) {
    const n = r.retired.length;
    const copies = r.retired.some((x) => x.withCopies) ? (n > 1 ? ' (and their copies)' : ' (and its copies)') : '';
    parts.push(
      `retired ${n} older AMI${n > 1 ? 's' : ''} of template '${r.templateName}': ${shortList(r.retired.map((x) => x.amiId))}${copies}`,
    );
  }
  if (r.kept.length) parts.push(`kept ${shortList(r.kept)}`);
  if (r.problems.length) parts.push(`retention: ${shortList(r.problems, 3)}`);
  return parts.length ? parts.join('; ') : undefined;
}
