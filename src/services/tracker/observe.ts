// Responsible for looking at EC2 once per region and tick: one DescribeImages for every image the
// tracked creations wait on and one DescribeSnapshots for all their snapshots (the gateway splits
// them into chunks of 1000 ids), never one call per creation. A region that fails is skipped for
// the tick and backed off; its creations keep their state.
import type { CreationRecord } from '../../db/creations.js';
import type { Ec2Image, Ec2Snapshot } from '../ec2/types.js';
import { snapshotFraction } from '../progress.js';
import type { TrackerContext } from './context.js';

export interface Observations {
  images: Map<string, Ec2Image>;
  snapshots: Map<string, Ec2Snapshot>;
  /** Regions whose Describe calls failed or were not made this tick: their creations keep their state. */
  unavailable: Set<string>;
}

/** The image ids each region is asked about: the source while snapshotting or encrypting, the copies under way while copying. */
function wantedImages(creations: CreationRecord[]): Map<string, Set<string>> {
  const wanted = new Map<string, Set<string>>();
  const want = (region: string, id: string | null) => {
    if (!id) return;
    let set = wanted.get(region);
    if (!set) wanted.set(region, (set = new Set()));
    set.add(id);
  };
  for (const c of creations) {
    if (c.stage === 'SNAPSHOTTING') want(c.sourceRegion, c.amiId);
    // While encrypting, the encrypted copy once its id is known (the creation's amiId is then no longer U).
    if (c.stage === 'ENCRYPTING' && c.amiId !== c.unencryptedAmiId) want(c.sourceRegion, c.amiId);
    if (c.stage === 'COPYING') for (const copy of c.copies) if (copy.status === 'IN_PROGRESS') want(copy.region, copy.amiId);
  }
  return wanted;
}

export async function observe(ctx: TrackerContext, creations: CreationRecord[]): Promise<Observations> {
  const { ec2 } = ctx.deps;
  const obs: Observations = { images: new Map(), snapshots: new Map(), unavailable: new Set() };
  await Promise.all(
    [...wantedImages(creations)].map(async ([region, ids]) => {
      if (!ctx.regions.ready(region)) {
        obs.unavailable.add(region);
        return;
      }
      try {
        const images = await ec2.findImages(region, { ids: [...ids] });
        const snapshotIds = images.flatMap((i) => i.snapshotIds);
        const snapshots = snapshotIds.length ? await ec2.describeSnapshots(region, snapshotIds) : [];
        for (const i of images) obs.images.set(i.id, i);
        for (const s of snapshots) obs.snapshots.set(s.id, s);
        ctx.regions.succeeded(region);
      } catch (err) {
        obs.unavailable.add(region);
        ctx.regions.failed(region, err);
      }
    }),
  );
  return obs;
}

/** How far an image is (0..1): its snapshots' progress, and 1 only once EC2 marks it available. */
export function imageFraction(img: Ec2Image, obs: Observations): number {
  if (img.state === 'available') return 1;
  const snaps = img.snapshotIds.flatMap((id) => {
    const s = obs.snapshots.get(id);
    return s ? [s] : [];
  });
  return Math.min(0.99, snapshotFraction(snaps));
}
