// Data access for creations, their user tags and their regional copies.
import { and, asc, eq, inArray, isNull, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.js';
import { encodeCursor, keyset, pageOf, type Page } from './pagination.js';
import {
  ACTIVE_STATUSES,
  amis,
  creations,
  creationTags,
  regionCopies,
  type CreationRow,
  type CreationStatus,
  type AmiRow,
  type NewCreationRow,
  type RegionCopyRow,
} from './schema.js';

export interface TagRow {
  key: string;
  value: string;
}

export interface CreationRecord extends CreationRow {
  tags: TagRow[];
  copies: RegionCopyRow[];
}

export type CreationPatch = Partial<Omit<CreationRow, 'id' | 'owner' | 'createdAt'>>;
export type CopyPatch = Partial<Omit<RegionCopyRow, 'creationId' | 'region' | 'position'>>;

export function insertCreation(db: Db, row: NewCreationRow, tags: TagRow[], copyRegions: string[]): void {
  db.transaction((tx) => {
    tx.insert(creations).values(row).run();
    if (tags.length) {
      tx.insert(creationTags)
        .values(tags.map((t, position) => ({ creationId: row.id, key: t.key, value: t.value, position })))
        .run();
    }
    if (copyRegions.length) {
      tx.insert(regionCopies)
        .values(
          copyRegions.map((region, position) => ({
            creationId: row.id,
            region,
            status: 'PENDING' as const,
            progress: 0,
            message: 'Waiting for the source AMI',
            snapshotIds: [],
            position,
          })),
        )
        .run();
    }
  });
}

export function deleteCreation(db: Db, id: string): void {
  db.delete(creations).where(eq(creations.id, id)).run();
}

export interface UpdateOptions {
  /** Apply only while the creation is PENDING or IN_PROGRESS (the tracker never overwrites a cancel). */
  onlyIfActive?: boolean;
  /** Apply only while a cancel is still removing what the creation made (CANCELLED, completedAt unset). */
  onlyIfCancelling?: boolean;
  /** Apply only while the creation is CANCELLED (finished cleaning up or not). */
  onlyIfCancelled?: boolean;
  /** More writes that must happen in the same transaction, and only if the guard passed. */
  also?: () => void;
}

/** Apply a creation's change (and its copies' changes) in one short transaction. */
export function updateCreation(
  db: Db,
  id: string,
  patch: CreationPatch,
  copies: { region: string; patch: CopyPatch }[] = [],
  options: UpdateOptions = {},
): boolean {
  return db.transaction((tx) => {
    if (options.onlyIfActive || options.onlyIfCancelling || options.onlyIfCancelled) {
      const row = tx
        .select({ status: creations.status, completedAt: creations.completedAt })
        .from(creations)
        .where(eq(creations.id, id))
        .get();
      if (!row) return false;
      if (options.onlyIfActive && !ACTIVE_STATUSES.includes(row.status)) return false;
      if (options.onlyIfCancelled && row.status !== 'CANCELLED') return false;
      if (options.onlyIfCancelling && (row.status !== 'CANCELLED' || row.completedAt !== null)) return false;
    }
    if (Object.keys(patch).length) tx.update(creations).set(patch).where(eq(creations.id, id)).run();
    for (const c of copies) {
      if (Object.keys(c.patch).length === 0) continue;
      tx.update(regionCopies)
        .set(c.patch)
        .where(and(eq(regionCopies.creationId, id), eq(regionCopies.region, c.region)))
        .run();
    }
    // better-sqlite3 runs everything on one connection, so these writes join this transaction.
    options.also?.();
    return true;
  });
}

/** Cancelled creations whose images and snapshots are still being removed (a cancel interrupted by a crash or an EC2 error). */
export function listCancellingCreations(db: Db): CreationRecord[] {
  const rows = db
    .select()
    .from(creations)
    .where(and(eq(creations.status, 'CANCELLED'), isNull(creations.completedAt)))
    .orderBy(asc(creations.createdAt))
    .all();
  return withChildren(db, rows);
}

/**
 * AMIs the service believes exist (not DEREGISTERED) that the tracker is not watching: those of
 * finished creations, or without a creation. Reconciliation checks them against EC2.
 */
export function amisToReconcile(db: Db): AmiRow[] {
  const tracked = db
    .select({ id: creations.id })
    .from(creations)
    .where(or(inArray(creations.status, ACTIVE_STATUSES), and(eq(creations.status, 'CANCELLED'), isNull(creations.completedAt))));
  return db
    .select()
    .from(amis)
    .where(and(ne(amis.state, 'DEREGISTERED'), or(isNull(amis.creationId), notInArray(amis.creationId, tracked))))
    .all();
}

export function findCreation(db: Db, id: string): CreationRecord | undefined {
  const row = db.select().from(creations).where(eq(creations.id, id)).get();
  return row ? withChildren(db, [row])[0] : undefined;
}

export function findCreationByIdempotencyKey(db: Db, owner: string, key: string): CreationRecord | undefined {
  const row = db
    .select()
    .from(creations)
    .where(and(eq(creations.owner, owner), eq(creations.idempotencyKey, key)))
    .get();
  return row ? withChildren(db, [row])[0] : undefined;
}

/** The creation that produced an AMI, whether the source image or one of its copies. */
export function findCreationByAmiId(db: Db, amiId: string): CreationRecord | undefined {
  const row =
    db.select().from(creations).where(eq(creations.amiId, amiId)).get() ??
    db
      .select({ c: creations })
      .from(regionCopies)
      .innerJoin(creations, eq(creations.id, regionCopies.creationId))
      .where(eq(regionCopies.amiId, amiId))
      .get()?.c;
  return row ? withChildren(db, [row])[0] : undefined;
}

export function listActiveCreations(db: Db): CreationRecord[] {
  const rows = db
    .select()
    .from(creations)
    .where(inArray(creations.status, ACTIVE_STATUSES))
    .orderBy(asc(creations.createdAt))
    .all();
  return withChildren(db, rows);
}

/** How many of `owner`'s creations are still working (PENDING or IN_PROGRESS). */
export function countActiveCreations(db: Db, owner: string): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(creations)
      .where(and(eq(creations.owner, owner), inArray(creations.status, ACTIVE_STATUSES)))
      .get()?.n ?? 0
  );
}

/** A name a creation of this region is still about to register (EC2 does not know it yet). */
export function pendingCreationWithName(db: Db, region: string, name: string): CreationRow | undefined {
  return db
    .select()
    .from(creations)
    .where(
      and(
        eq(creations.sourceRegion, region),
        eq(creations.name, name),
        inArray(creations.status, ACTIVE_STATUSES),
        sql`${creations.amiId} IS NULL`,
      ),
    )
    .get();
}

export function listCreations(
  db: Db,
  args: { owner: string; status?: CreationStatus | null; first: number; after?: string | null },
): Page<CreationRecord> & { cursorOf(r: CreationRecord): string } {
  const base: SQL[] = [eq(creations.owner, args.owner)];
  if (args.status) base.push(eq(creations.status, args.status));
  const ks = keyset({ createdAt: creations.createdAt, id: creations.id }, base, args);
  const rows = db
    .select()
    .from(creations)
    .where(ks.where)
    .orderBy(...ks.orderBy)
    .limit(ks.limit)
    .all();
  const count = () =>
    db
      .select({ n: sql<number>`count(*)` })
      .from(creations)
      .where(and(...base))
      .get()?.n ?? 0;
  return {
    ...pageOf(rows, args.first, ks, (page) => withChildren(db, page), count),
    cursorOf: (r) => encodeCursor({ createdAt: r.createdAt, id: r.id }),
  };
}

/** Load tags and copies for many creations with two queries, not two per creation. */
function withChildren(db: Db, rows: CreationRow[]): CreationRecord[] {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const tags = new Map<string, TagRow[]>();
  const copies = new Map<string, RegionCopyRow[]>();
  for (const part of chunks(ids, 500)) {
    for (const t of db
      .select()
      .from(creationTags)
      .where(inArray(creationTags.creationId, part))
      .orderBy(asc(creationTags.position))
      .all()) {
      const list = tags.get(t.creationId) ?? [];
      list.push({ key: t.key, value: t.value });
      tags.set(t.creationId, list);
    }
    for (const c of db
      .select()
      .from(regionCopies)
      .where(inArray(regionCopies.creationId, part))
      .orderBy(asc(regionCopies.position))
      .all()) {
      const list = copies.get(c.creationId) ?? [];
      list.push(c);
      copies.set(c.creationId, list);
    }
  }
  return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [], copies: copies.get(r.id) ?? [] }));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
