// Responsible for the few aggregate reads /metrics and /ready make at scrape time: cheap GROUP BYs
// over indexed columns, never a scan of the creations' children.
import { and, count, eq, inArray } from 'drizzle-orm';
import { ACTIVE_STATUSES as ACTIVE, type CreationStatus } from './schema.js';
import type { Store } from './store.js';

export async function creationsByStatus(store: Store): Promise<{ status: CreationStatus; count: number }[]> {
  const { creations } = store.t;
  return store.orm.select({ status: creations.status, count: count() }).from(creations).groupBy(creations.status);
}

/**
 * Unfinished creations per region the tracker watches: a creation counts in its source region
 * while it is active, and in a copy's region while that copy is pending or in progress.
 */
export async function trackedCreationsByRegion(store: Store): Promise<Map<string, number>> {
  const { creations, regionCopies } = store.t;
  const out = new Map<string, number>();
  const [sources, copies] = await Promise.all([
    store.orm
      .select({ region: creations.sourceRegion, count: count() })
      .from(creations)
      .where(inArray(creations.status, ACTIVE))
      .groupBy(creations.sourceRegion),
    store.orm
      .select({ region: regionCopies.region, count: count() })
      .from(regionCopies)
      .innerJoin(creations, eq(creations.id, regionCopies.creationId))
      .where(and(inArray(creations.status, ACTIVE), inArray(regionCopies.status, ACTIVE)))
      .groupBy(regionCopies.region),
  ]);
  for (const row of [...sources, ...copies]) out.set(row.region, (out.get(row.region) ?? 0) + row.count);
  return out;
}
