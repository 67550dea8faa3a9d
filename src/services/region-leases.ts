// Responsible for answering "may this replica poll EC2 in this region now?" for the background
// loops (tracker and reconciler), so that one replica or ten send EC2 the same requests. One
// process alone holds every region (everyRegion); replicas share PostgreSQL advisory locks
// (src/db/region-leases.ts), one family of locks per loop.

export interface RegionLeases {
  /** Whether this replica may poll `region` now; acquires the region when free. Never throws (an error means "not held"). */
  holds(region: string): Promise<boolean>;
  /** Regions held now (metrics, /ready, logs). */
  held(): string[];
  close(): Promise<void>;
}

/** The single-process default: every region is this process's. */
export function everyRegion(): RegionLeases {
  const asked = new Set<string>();
  return {
    holds(region) {
      asked.add(region);
      return Promise.resolve(true);
    },
    held: () => [...asked].sort(),
    close: () => Promise.resolve(),
  };
}

/** Whether this replica may poll a region, asked of the leases at most once per region (one tick's view). */
export type RegionCheck = (region: string) => Promise<boolean>;

/** A per-tick view of the leases: each region is asked once, however many creations or AMIs it has. */
export function regionCheck(leases: RegionLeases): RegionCheck {
  const answers = new Map<string, Promise<boolean>>();
  return (region) => {
    let answer = answers.get(region);
    if (!answer) answers.set(region, (answer = leases.holds(region)));
    return answer;
  };
}

/**
 * The items whose region this replica holds. Accepts a list or the promise of one, so it wraps
 * data access whether that is synchronous or not.
 */
export async function ownedBy<T>(
  owns: RegionCheck,
  items: readonly T[] | Promise<readonly T[]>,
  regionOf: (item: T) => string,
): Promise<T[]> {
  const list = await items;
  const owned = await Promise.all(list.map((item) => owns(regionOf(item))));
  return list.filter((_, i) => owned[i]);
}
