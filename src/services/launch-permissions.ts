// Responsible for who may launch an image: the public (group `all`, the community list) and named
// accounts (with create-volume permission on the snapshots, so colleagues can copy the AMI).
// Writes EC2 first, then the local record, so the database never claims more than EC2 holds.
import { findAmi, launchPermissions, removeAmiTag, setAmiTag, setLaunchPermissions, updateAmi } from '../db/amis.js';
import type { AmiVisibility } from '../db/schema.js';
import { announceAmis, type AmiEventDeps } from './ami-events.js';
import type { Ec2Gateway } from './ec2/types.js';
import { TAG_COMMUNITY } from './system-tags.js';

export interface PermissionChange {
  region: string;
  amiId: string;
  snapshotIds: readonly string[];
  /** true: add group `all`; false: remove it; undefined: leave it. */
  public?: boolean;
  addAccounts?: readonly string[];
  removeAccounts?: readonly string[];
}

export async function applyLaunchPermissions(
  deps: AmiEventDeps & { ec2: Ec2Gateway; now: () => number },
  change: PermissionChange,
): Promise<AmiVisibility> {
  const { db, ec2 } = deps;
  const add = change.addAccounts ?? [];
  const remove = change.removeAccounts ?? [];
  const addPublic = change.public === true;
  const removePublic = change.public === false;

  if (add.length || addPublic || remove.length || removePublic) {
    await ec2.modifyLaunchPermission(change.region, change.amiId, {
      ...(add.length || addPublic ? { add: { ...(addPublic ? { group: 'all' as const } : {}), userIds: [...add] } } : {}),
      ...(remove.length || removePublic
        ? { remove: { ...(removePublic ? { group: 'all' as const } : {}), userIds: [...remove] } }
        : {}),
    });
  }
  if (add.length || remove.length) {
    for (const snapshotId of change.snapshotIds) {
      await ec2.modifySnapshotCreateVolumePermission(change.region, snapshotId, { add: [...add], remove: [...remove] });
    }
  }
  if (addPublic) {
    await ec2.createTags(change.region, [change.amiId], [{ key: TAG_COMMUNITY, value: 'published' }]);
  } else if (removePublic) {
    await ec2.deleteTags(change.region, [change.amiId], [TAG_COMMUNITY]);
  }

  const now = deps.now();
  await setLaunchPermissions(db, change.amiId, add, remove);
  if (addPublic) await setAmiTag(db, change.amiId, { key: TAG_COMMUNITY, value: 'published' });
  if (removePublic) await removeAmiTag(db, change.amiId, TAG_COMMUNITY);
  const accounts = await launchPermissions(db, change.amiId);
  const current = await findAmi(db, change.amiId);
  const isPublic = addPublic || (!removePublic && current?.visibility === 'PUBLIC');
  const visibility: AmiVisibility = isPublic ? 'PUBLIC' : accounts.length ? 'SHARED' : 'PRIVATE';
  await updateAmi(db, change.amiId, {
    visibility,
    updatedAt: now,
    ...(addPublic ? { publishedAt: now } : removePublic ? { publishedAt: null } : {}),
  });
  await announceAmis(deps, [change.amiId]);
  return visibility;
}
