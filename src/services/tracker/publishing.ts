// Responsible for the PUBLISHING stage: launch permissions (public and/or shared accounts) on the
// source image and every completed copy, then the end of the creation. What EC2 will not allow
// (block public access, an encrypted image) is reported in the final message, not retried.
import { findAmi } from '../../db/amis.js';
import type { CreationRecord } from '../../db/creations.js';
import { isTransient, toDomainError } from '../ec2/errors.js';
import { applyLaunchPermissions } from '../launch-permissions.js';
import type { TrackerContext } from './context.js';
import { complete } from './finishing.js';

export async function advancePublishing(ctx: TrackerContext, c: CreationRecord): Promise<'finished'> {
  const images = [
    { region: c.sourceRegion, amiId: c.amiId! },
    ...c.copies.filter((x) => x.status === 'COMPLETED' && x.amiId).map((x) => ({ region: x.region, amiId: x.amiId! })),
  ];
  const problems: string[] = [];
  for (const image of images) {
    try {
      problems.push(...(await publishImage(ctx, c, image)));
    } catch (err) {
      if (isTransient(err)) throw err; // retried next tick
      problems.push(`${image.region}: ${toDomainError(err).message}`);
    }
  }
  await complete(ctx, c, problems);
  return 'finished';
}

/** Apply the creation's launch permissions to one image; the problems that kept it from being public. */
async function publishImage(ctx: TrackerContext, c: CreationRecord, image: { region: string; amiId: string }): Promise<string[]> {
  const { db, ec2, clock, events } = ctx.deps;
  const ami = await findAmi(db, image.amiId);
  const problems: string[] = [];
  let makePublic = c.public;
  if (makePublic && (await ec2.getImageBlockPublicAccessState(image.region)) === 'block-new-sharing') {
    problems.push(`not made public in ${image.region}: block public access for AMIs is on`);
    makePublic = false;
  }
  if (makePublic && ami?.encrypted) {
    problems.push(`not made public in ${image.region}: the image is encrypted`);
    makePublic = false;
  }
  await applyLaunchPermissions(
    { db, ec2, events, now: clock.now },
    {
      region: image.region,
      amiId: image.amiId,
      snapshotIds: ami?.snapshotIds ?? [],
      ...(makePublic ? { public: true } : {}),
      addAccounts: c.shareAccounts,
    },
  );
  return problems;
}
