// Data access for creations, their user tags and their regional copies.
import { markAmisChanged } from './amis.js';
import { and, asc, count, eq, inArray, isNull, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import { encodeCursor, keyset, pageOf, type Page } from './pagination.js';
import {
  ACTIVE_STATUSES,
  type CreationRow,
  type CreationStatus,
  type AmiRow,
  type NewCreationRow,
  type RegionCopyRow,
} from './schema.js';
import { first, type Store } from './store.js';

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

export async function insertCreation(store: Store, row: NewCreationRow, tags: TagRow[], copyRegions: string[]): Promise<void> {
  await store.transaction(async (tx) => {
    const { creations, creationTags, regionCopies } = tx.t;
    await tx.orm.insert(creations).values(row);
    if (tags.length) {
      await tx.orm
        .insert(creationTags)
        .values(tags.map((t, position) => ({ creationId: row.id, key: t.key, value: t.value, position })));
    }
    if (copyRegions.length) {
      await tx.orm.insert(regionCopies).values(
        copyRegions.map((region, position) => ({
          creationId: row.id,
          region,
          status: 'PENDING' as const,
          progress: 0,
          message: 'Waiting for the source AMI',
          snapshotIds: [],
          position,
        })),
      );
    }
  });
}

export async function deleteCreation(store: Store, id: string): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.orm.delete(tx.t.creations).where(eq(tx.t.creations.id, id));
    // Its AMIs' creation_id is set to null (schema.ts): a write to amis.
    await markAmisChanged(tx);
  });
}

/** Which status a change needs: only while active (the tracker never overwrites a cancel), or only once cancelled. */
export type Guard =
  /** PENDING or IN_PROGRESS. */
  | 'active'
  /** A cancel still removing what the creation made (CANCELLED, completedAt unset). */
  | 'cancelling'
  /** CANCELLED, finished cleaning up or not. */
  | 'cancelled';

export interface UpdateOptions {
  guard?: Guard;
  /** More writes that must happen in the same transaction, and only if the guard passed. */
  also?: (tx: Store) => Promise<void>;
}

function guardCondition(store: Store, guard: Guard): SQL {
  const { creations } = store.t;
  if (guard === 'active') return inArray(creations.status, ACTIVE_STATUSES);
  if (guard === 'cancelled') return eq(creations.status, 'CANCELLED');
  return and(eq(creations.status, 'CANCELLED'), isNull(creations.completedAt))!;
}

/**
 * Apply a creation's change (and its copies' changes) in one short transaction. The guard is part
 * of the first UPDATE, so it is checked and the row locked in one statement: two replicas changing
 * the same creation at once apply one after the other, and a cancel always wins.
 */
export async function updateCreation(
  store: Store,
  id: string,
  patch: CreationPatch,
  copies: { region: string; patch: CopyPatch }[] = [],
  options: UpdateOptions = {},
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const { creations, regionCopies } = tx.t;
    const set = Object.keys(patch).length ? patch : { updatedAt: sql`updated_at` };
    const where = options.guard ? and(eq(creations.id, id), guardCondition(tx, options.guard)) : eq(creations.id, id);
    const applied = await tx.orm.update(creations).set(set).where(where).returning({ id: creations.id });
    if (applied.length === 0) return false;
    for (const c of copies) {
      if (Object.keys(c.patch).length === 0) continue;
      await tx.orm
        .update(regionCopies)
        .set(c.patch)
        .where(and(eq(regionCopies.creationId, id), eq(regionCopies.region, c.region)));
    }
    await options.also?.(tx);
    return true;
  });
}

/** Cancelled creations whose images and snapshots are still being removed (a cancel interrupted by a crash or an EC2 error). */
export async function listCancellingCreations(store: Store): Promise<CreationRecord[]> {
  const { creations } = store.t;
  const rows = await store.orm
    .select()
    .from(creations)
    .where(and(eq(creations.status, 'CANCELLED'), isNull(creations.completedAt)))
    .orderBy(asc(creations.createdAt));
  return withChildren(store, rows);
}

/**
 * AMIs the service believes exist (not DEREGISTERED) that the tracker is not watching: those of
 * finished creations, or without a creation. Reconciliation checks them against EC2.
 */
export async function amisToReconcile(store: Store): Promise<AmiRow[]> {
  const { creations, amis } = store.t;
  const tracked = store.orm
    .select({ id: creations.id })
    .from(creations)
    .where(or(inArray(creations.status, ACTIVE_STATUSES), and(eq(creations.status, 'CANCELLED'), isNull(creations.completedAt))));
  return await store.orm
    .select()
    .from(amis)
    .where(and(ne(amis.state, 'DEREGISTERED'), or(isNull(amis.creationId), notInArray(amis.creationId, tracked))));
}

async function one(store: Store, row: CreationRow | undefined): Promise<CreationRecord | undefined> {
  return row ? (await withChildren(store, [row]))[0] : undefined;
}

export async function findCreation(store: Store, id: string): Promise<CreationRecord | undefined> {
  const { creations } = store.t;
  return one(store, first(await store.orm.select().from(creations).where(eq(creations.id, id)).limit(1)));
}

/** The creations with these ids (those that exist), with their children: three queries for any number. */
export async function findCreations(store: Store, ids: readonly string[]): Promise<CreationRecord[]> {
  if (ids.length === 0) return [];
  const { creations } = store.t;
  return withChildren(
    store,
    await store.orm
      .select()
      .from(creations)
      .where(inArray(creations.id, [...ids])),
  );
}

export async function findCreationByIdempotencyKey(
  store: Store,
  owner: string,
  key: string,
): Promise<CreationRecord | undefined> {
  const { creations } = store.t;
  const rows = await store.orm
    .select()
    .from(creations)
    .where(and(eq(creations.owner, owner), eq(creations.idempotencyKey, key)))
    .limit(1);
  return one(store, first(rows));
}

/** The creation that produced an AMI, whether the source image or one of its copies. */
export async function findCreationByAmiId(store: Store, amiId: string): Promise<CreationRecord | undefined> {
  const { creations, regionCopies } = store.t;
  const source = first(await store.orm.select().from(creations).where(eq(creations.amiId, amiId)).limit(1));
  if (source) return one(store, source);
  const copy = first(
    await store.orm
      .select({ c: creations })
      .from(regionCopies)
      .innerJoin(creations, eq(creations.id, regionCopies.creationId))
      .where(eq(regionCopies.amiId, amiId))
      .limit(1),
  );
  return one(store, copy?.c);
}

export async function listActiveCreations(store: Store): Promise<CreationRecord[]> {
  const { creations } = store.t;
  const rows = await store.orm
    .select()
    .from(creations)
    .where(inArray(creations.status, ACTIVE_STATUSES))
    .orderBy(asc(creations.createdAt));
  return withChildren(store, rows);
}

/** How many of `owner`'s creations are still working (PENDING or IN_PROGRESS). */
export async function countActiveCreations(store: Store, owner: string): Promise<number> {
  const { creations } = store.t;
  const rows = await store.orm
    .select({ n: count() })
    .from(creations)
    .where(and(eq(creations.owner, owner), inArray(creations.status, ACTIVE_STATUSES)));
  return first(rows)?.n ?? 0;
}

/** A name a creation of this region is still about to register (EC2 does not know it yet). */
export async function pendingCreationWithName(store: Store, region: string, name: string): Promise<CreationRow | undefined> {
  const { creations } = store.t;
  const rows = await store.orm
    .select()
    .from(creations)
    .where(
      and(
        eq(creations.sourceRegion, region),
        eq(creations.name, name),
        inArray(creations.status, ACTIVE_STATUSES),
        isNull(creations.amiId),
      ),
    )
    .limit(1);
  return first(rows);
}

export async function listCreations(
  store: Store,
  args: { owner: string; status?: CreationStatus | null; first: number; after?: string | null },
): Promise<Page<CreationRecord> & { cursorOf(r: CreationRecord): string }> {
  const { creations } = store.t;
  const base: SQL[] = [eq(creations.owner, args.owner)];
  if (args.status) base.push(eq(creations.status, args.status));
  const ks = keyset({ createdAt: creations.createdAt, id: creations.id }, base, args);
  const rows = await store.orm
    .select()
    .from(creations)
    .where(ks.where)
    .orderBy(...ks.orderBy)
    .limit(ks.limit);
  const total = async () =>
    first(
      await store.orm
        .select({ n: count() })
        .from(creations)
        .where(and(...base)),
    )?.n ?? 0;
  return {
    ...(await pageOf(rows, args.first, ks, (page) => withChildren(store, page), total)),
    cursorOf: (r) => encodeCursor({ createdAt: r.createdAt, id: r.id }),
  };
}

/** Load tags and copies for many creations with two queries, not two per creation. */
async function withChildren(store: Store, rows: CreationRow[]): Promise<CreationRecord[]> {
  if (rows.length === 0) return [];
  const { creationTags, regionCopies } = store.t;
  const tags = new Map<string, TagRow[]>();
  const copies = new Map<string, RegionCopyRow[]>();
  for (const part of chunks(
    rows.map((r) => r.id),
    500,
  )) {
    const [tagRows, copyRows] = await Promise.all([
      store.orm.select().from(creationTags).where(inArray(creationTags.creationId, part)).orderBy(asc(creationTags.position)),
      store.orm.select().from(regionCopies).where(inArray(regionCopies.creationId, part)).orderBy(asc(regionCopies.position)),
    ]);
    for (const t of tagRows) push(tags, t.creationId, { key: t.key, value: t.value });
    for (const c of copyRows) push(copies, c.creationId, c);
  }
  return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [], copies: copies.get(r.id) ?? [] }));
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
