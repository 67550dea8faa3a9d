// Data access for registered AMIs (one row per image per region), their tags and launch permissions.
import { and, desc, eq, exists, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.js';
import type { TagRow } from './creations.js';
import { encodeCursor, keyset, pageOf, type Page } from './pagination.js';
import { amiLaunchPermissions, amis, amiTags, creations, type AmiRow, type AmiState, type AmiVisibility } from './schema.js';

export interface AmiRecord extends AmiRow {
  tags: TagRow[];
}

export type NewAmi = typeof amis.$inferInsert;
export type AmiPatch = Partial<Omit<AmiRow, 'amiId' | 'owner' | 'createdAt'>>;

export interface AmiListFilter {
  region?: string | null;
  templateName?: string | null;
  nameContains?: string | null;
  tags?: readonly TagRow[] | null;
  visibility?: AmiVisibility | null;
  state?: AmiState | null;
}

/**
 * totalCount memo. A count reads every matching row (tens of ms for a tag filter over 100k AMIs)
 * while a page reads ~first+1 rows, and clients ask for the same counts over and over between
 * changes. Every write to amis, their tags or their permissions goes through this module and
 * drops the memo of that database.
 */
const countMemos = new WeakMap<Db, Map<string, number>>();

function changed(db: Db): void {
  countMemos.delete(db);
}

function memoCount(db: Db, key: string, count: () => number): number {
  let memo = countMemos.get(db);
  if (!memo) countMemos.set(db, (memo = new Map<string, number>()));
  let n = memo.get(key);
  if (n === undefined) {
    if (memo.size >= 1000) memo.clear();
    memo.set(key, (n = count()));
  }
  return n;
}

/** Insert an AMI (or refresh it when already known) with its full tag set. */
export function upsertAmi(db: Db, row: NewAmi, tags: TagRow[]): void {
  changed(db);
  db.transaction((tx) => {
    const { amiId: _id, owner: _owner, createdAt: _created, ...rest } = row;
    tx.insert(amis).values(row).onConflictDoUpdate({ target: amis.amiId, set: rest }).run();
    tx.delete(amiTags).where(eq(amiTags.amiId, row.amiId)).run();
    if (tags.length)
      tx.insert(amiTags)
        .values(tags.map((t) => ({ amiId: row.amiId, ...t })))
        .run();
  });
}

export function updateAmi(db: Db, amiId: string, patch: AmiPatch): void {
  changed(db);
  if (Object.keys(patch).length) db.update(amis).set(patch).where(eq(amis.amiId, amiId)).run();
}

export function setAmiTag(db: Db, amiId: string, tag: TagRow): void {
  changed(db);
  db.insert(amiTags)
    .values({ amiId, ...tag })
    .onConflictDoUpdate({ target: [amiTags.amiId, amiTags.key], set: { value: tag.value } })
    .run();
}

export function removeAmiTag(db: Db, amiId: string, key: string): void {
  changed(db);
  db.delete(amiTags)
    .where(and(eq(amiTags.amiId, amiId), eq(amiTags.key, key)))
    .run();
}

export function findAmi(db: Db, amiId: string): AmiRecord | undefined {
  const row = db.select().from(amis).where(eq(amis.amiId, amiId)).get();
  return row ? withTags(db, [row])[0] : undefined;
}

export function amisOfCreation(db: Db, creationId: string): AmiRecord[] {
  return withTags(db, db.select().from(amis).where(eq(amis.creationId, creationId)).all());
}

export function launchPermissions(db: Db, amiId: string): string[] {
  return db
    .select({ accountId: amiLaunchPermissions.accountId })
    .from(amiLaunchPermissions)
    .where(eq(amiLaunchPermissions.amiId, amiId))
    .all()
    .map((r) => r.accountId);
}

export function setLaunchPermissions(db: Db, amiId: string, add: readonly string[], remove: readonly string[]): void {
  changed(db);
  db.transaction((tx) => {
    if (add.length) {
      tx.insert(amiLaunchPermissions)
        .values(add.map((accountId) => ({ amiId, accountId })))
        .onConflictDoNothing()
        .run();
    }
    if (remove.length) {
      tx.delete(amiLaunchPermissions)
        .where(and(eq(amiLaunchPermissions.amiId, amiId), inArray(amiLaunchPermissions.accountId, [...remove])))
        .run();
    }
  });
}

export function listAmis(
  db: Db,
  args: { owner?: string; visibility?: AmiVisibility; filter?: AmiListFilter | null; first: number; after?: string | null },
): Page<AmiRecord> & { cursorOf(r: AmiRecord): string } {
  const base: SQL[] = [];
  if (args.owner !== undefined) base.push(eq(amis.owner, args.owner));
  if (args.visibility !== undefined) base.push(eq(amis.visibility, args.visibility));
  const f = args.filter ?? {};
  if (f.region) base.push(eq(amis.region, f.region));
  if (f.templateName) base.push(eq(amis.templateName, f.templateName));
  if (f.nameContains) base.push(sql`${amis.name} LIKE ${`%${escapeLike(f.nameContains)}%`} ESCAPE '\\'`);
  if (f.visibility) base.push(eq(amis.visibility, f.visibility));
  if (f.state) base.push(eq(amis.state, f.state));
  for (const tag of f.tags ?? []) {
    base.push(
      exists(
        db
          .select({ one: sql`1` })
          .from(amiTags)
          .where(and(eq(amiTags.amiId, amis.amiId), eq(amiTags.key, tag.key), eq(amiTags.value, tag.value))),
      ),
    );
  }
  const ks = keyset({ createdAt: amis.createdAt, id: amis.amiId }, base, args);
  const rows = db
    .select()
    .from(amis)
    .where(ks.where)
    .orderBy(...ks.orderBy)
    .limit(ks.limit)
    .all();
  const count = () =>
    memoCount(
      db,
      JSON.stringify([args.owner ?? null, args.visibility ?? null, f]),
      () =>
        db
          .select({ n: sql<number>`count(*)` })
          .from(amis)
          .where(and(...base))
          .get()?.n ?? 0,
    );
  return {
    ...pageOf(rows, args.first, ks, (page) => withTags(db, page), count),
    cursorOf: (r) => encodeCursor({ createdAt: r.createdAt, id: r.amiId }),
  };
}

/**
 * For each instance id, the newest source-region AMI that one of `owner`'s creations made from it:
 * one query (and one for the tags) for a whole page of instances.
 */
export function latestAmisOfInstances(db: Db, owner: string, instanceIds: readonly string[]): Map<string, AmiRecord> {
  if (instanceIds.length === 0) return new Map();
  const rows = db
    .select({ instanceId: creations.instanceId, ami: amis })
    .from(amis)
    .innerJoin(creations, eq(amis.creationId, creations.id))
    .where(
      and(eq(creations.owner, owner), inArray(creations.instanceId, [...instanceIds]), eq(amis.region, creations.sourceRegion)),
    )
    .orderBy(desc(amis.createdAt), desc(amis.amiId))
    .all();
  const newest = new Map<string, AmiRow>();
  for (const r of rows) if (!newest.has(r.instanceId)) newest.set(r.instanceId, r.ami);
  const records = withTags(db, [...newest.values()]);
  return new Map([...newest.keys()].map((instanceId, i) => [instanceId, records[i]!]));
}

/** `nameContains` is a plain substring: its % and _ must not act as wildcards. */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function withTags(db: Db, rows: AmiRow[]): AmiRecord[] {
  if (rows.length === 0) return [];
  const byId = new Map<string, TagRow[]>();
  for (const t of db
    .select()
    .from(amiTags)
    .where(
      inArray(
        amiTags.amiId,
        rows.map((r) => r.amiId),
      ),
    )
    .all()) {
    const list = byId.get(t.amiId) ?? [];
    list.push({ key: t.key, value: t.value });
    byId.set(t.amiId, list);
  }
  return rows.map((r) => ({ ...r, tags: byId.get(r.amiId) ?? [] }));
}
