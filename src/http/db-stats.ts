// Responsible for the few aggregate reads /metrics and /ready make at scrape time: cheap GROUP BYs
// over indexed columns, never a scan of the creations' children.
import { readFileSync } from 'node:fs';
import { count, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { ACTIVE_STATUSES as ACTIVE, creations, regionCopies, type CreationStatus } from '../db/schema.js';

export function creationsByStatus(db: Db): { status: CreationStatus; count: number }[] {
  return db.select({ status: creations.status, count: count() }).from(creations).groupBy(creations.status).all();
}

/**
 * Unfinished creations per region the tracker watches: a creation counts in its source region
 * while it is active, and in a copy's region while that copy is pending or in progress.
 */
export function trackedCreationsByRegion(db: Db): Map<string, number> {
  const out = new Map<string, number>();
  const sources = db
    .select({ region: creations.sourceRegion, count: count() })
    .from(creations)
    .where(inArray(creations.status, ACTIVE))
    .groupBy(creations.sourceRegion)
    .all();
  const copies = db
    .select({ region: regionCopies.region, count: count() })
    .from(regionCopies)
    .innerJoin(creations, eq(creations.id, regionCopies.creationId))
    .where(sql`${inArray(creations.status, ACTIVE)} and ${inArray(regionCopies.status, ACTIVE)}`)
    .groupBy(regionCopies.region)
    .all();
  for (const row of [...sources, ...copies]) out.set(row.region, (out.get(row.region) ?? 0) + row.count);
  return out;
}

const JOURNAL = new URL('../../drizzle/meta/_journal.json', import.meta.url);
let shipped: number | undefined;

/** How many migrations the code ships and how many the database has applied. */
export function migrationState(db: Db): { expected: number; applied: number } {
  shipped ??= (JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: unknown[] }).entries.length;
  const row = db.get<{ n: number }>(sql`select count(*) as n from __drizzle_migrations`);
  return { expected: shipped, applied: row?.n ?? 0 };
}
