// Responsible for removing one registered image from EC2, in its own region: DeregisterImage, then
// DeleteSnapshot for each of its snapshots, where something already gone counts as removed; and
// the AMI row's patch once it is deregistered. Used by deregisterAmi and by a template's retention.
import type { AmiPatch } from '../db/amis.js';
import { isNotFound } from './ec2/errors.js';
import type { Ec2Gateway } from './ec2/types.js';

export interface RegisteredImage {
  region: string;
  amiId: string;
  /** The snapshot ids the record holds (EC2's own list is read too). */
  snapshotIds: readonly string[];
}

/**
 * Deregister the image if EC2 still lists it; the snapshot ids are read from EC2 first (the local
 * record may predate them) because EC2 no longer names them once the image is gone. Returns every
 * snapshot id known of the image. EC2's errors are thrown as they came (Ec2CallError).
 */
export async function deregisterOnEc2(ec2: Ec2Gateway, image: RegisteredImage): Promise<string[]> {
  const [listed] = await ec2.findImages(image.region, { ids: [image.amiId] });
  const snapshotIds = [...new Set([...(listed?.snapshotIds ?? []), ...image.snapshotIds])];
  if (listed && listed.state !== 'deregistered') await unlessGone(() => ec2.deregisterImage(image.region, image.amiId));
  return snapshotIds;
}

/** Delete snapshots of a deregistered image, one request each; one already gone is skipped. */
export async function deleteSnapshotsOnEc2(ec2: Ec2Gateway, region: string, snapshotIds: readonly string[]): Promise<void> {
  for (const snapshotId of snapshotIds) await unlessGone(() => ec2.deleteSnapshot(region, snapshotId));
}

/** The AMI row of a deregistered image: kept in history, nobody may launch it; `reason` when the service did it on its own. */
export function deregisteredPatch(now: number, reason: string | null = null): AmiPatch {
  return { state: 'DEREGISTERED', visibility: 'PRIVATE', updatedAt: now, deregisteredReason: reason };
}

/** Runs an EC2 removal; something already gone (deleted by hand, say) is what was asked for. */
export async function unlessGone(remove: () => Promise<void>): Promise<void> {
  try {
    await remove();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
