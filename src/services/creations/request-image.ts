// Responsible for sending CreateImage for a creation and recording its answer: the one place the
// request is made, whether for a new creation or by the tracker asking again after a lost answer.
import type { CreationRecord } from '../../db/creations.js';
import { removeLateImage } from '../cancellation.js';
import type { ServiceDeps } from '../context.js';
import { imageTags } from '../system-tags.js';
import { recordSourceImage } from './lifecycle.js';

/** CreateImage for the creation's instance, the image tagged with the creation id so that it can be found again. */
export function sendCreateImage(deps: Pick<ServiceDeps, 'ec2'>, c: CreationRecord): Promise<string> {
  return deps.ec2.createImage(c.sourceRegion, {
    instanceId: c.instanceId,
    name: requestedImageName(c),
    description: c.description ?? undefined,
    noReboot: c.noReboot,
    tags: imageTags(c),
  });
}

/**
 * The name CreateImage gives the image. An encrypted creation's first image is an intermediate:
 * its encrypted copy in the same region takes the creation's name, and EC2 wants names unique
 * per region, so the intermediate is named after the creation (Packer names it at random).
 */
export function requestedImageName(c: Pick<CreationRecord, 'id' | 'name' | 'encrypt'>): string {
  return c.encrypt ? `prism-unencrypted-${c.id}` : c.name;
}

/**
 * Record the image EC2 made for the creation. When the creation was cancelled while CreateImage
 * was under way, the image and its snapshots are removed instead, and the answer is false.
 */
export async function keepRequestedImage(deps: ServiceDeps, c: CreationRecord, amiId: string): Promise<boolean> {
  if (await recordSourceImage(deps, c, amiId)) return true;
  await removeLateImage(deps, c, { region: c.sourceRegion, amiId });
  return false;
}
