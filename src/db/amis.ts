// Data access for registered AMIs (one row per image per region), their tags and launch permissions.
import { and, asc, count, desc, eq, exists, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { TagRow } from './creations.js';
import { encodeCursor, keyset, pageOf, type Page } from './pagination.js';
import { ACTIVE_STATUSES, type AmiRow, type AmiState, type AmiVisibility, type amis } from './schema.js';
import { first, type Store } from './store.js';

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
 * drops the memo of that store. (With several replicas on one PostgreSQL, another replica's
 * write is not seen here: a count may lag by one change until this replica writes an AMI.)
 */
const countMemos = new WeakMap<object, Map<string, number>>();

function changed(store: Store): void {
  countMemos.delete(store.identity);
}

async function memoCount(store: Store, key: string, count: () => Promise<number>): Promise<number> {
  let memo = countMemos.get(store.identity);
  if (!memo) countMemos.set(store.identity, (memo = new Map<string, number>()));
  let n = memo.get(key);
  if (n === undefined) {
    n = await count();
    if (memo.size >= 1000) memo.clear();
    memo.set(key, n);
  }
  return n;
}

/** Insert an AMI (or refresh it when already known) with its full tag set. */
export async function upsertAmi(store: Store, row: NewAmi, tags: TagRow[]): Promise<void> {
  changed(store);
  await store.transaction(async (tx) => {
    const { amis, amiTags } = tx.t;
    const { amiId: _id, owner: _owner, createdAt: _created, ...rest } = row;
    await tx.orm.insert(amis).values(row).onConflictDoUpdate({ target: amis.amiId, set: rest });
    await tx.orm.delete(amiTags).where(eq(amiTags.amiId, row.amiId));
    if (tags.length) await tx.orm.insert(amiTags).values(tags.map((t) => ({ amiId: row.amiId, ...t })));
  });
}

export async function updateAmi(store: Store, amiId: string, patch: AmiPatch): Promise<void> {
  changed(store);
  if (Object.keys(patch).length === 0) return;
  await store.transaction(async (tx) => {
    await tx.orm.update(tx.t.amis).set(patch).where(eq(tx.t.amis.amiId, amiId));
  });
}

export async function setAmiTag(store: Store, amiId: string, tag: TagRow): Promise<void> {
  changed(store);
  await store.transaction(async (tx) => {
    const { amiTags } = tx.t;
    await tx.orm
      .insert(amiTags)
      .values({ amiId, ...tag })
      .onConflictDoUpdate({ target: [amiTags.amiId, amiTags.key], set: { value: tag.value } });
  });
}

export async function removeAmiTag(store: Store, amiId: string, key: string): Promise<void> {
  changed(store);
  await store.transaction(async (tx) => {
    const { amiTags } = tx.t;
    await tx.orm.delete(amiTags).where(and(eq(amiTags.amiId, amiId), eq(amiTags.key, key)));
  });
}

export async function findAmi(store: Store, amiId: string): Promise<AmiRecord | undefined> {
  const { amis } = store.t;
  const row = first(await store.orm.select().from(amis).where(eq(amis.amiId, amiId)).limit(1));
  return row ? (await withTags(store, [row]))[0] : undefined;
}

export async function amisOfCreation(store: Store, creationId: string): Promise<AmiRecord[]> {
  const { amis } = store.t;
  return withTags(store, await store.orm.select().from(amis).where(eq(amis.creationId, creationId)));
}

export async function launchPermissions(store: Store, amiId: string): Promise<string[]> {
  const { amiLaunchPermissions: perms } = store.t;
  const rows = await store.orm.select({ accountId: perms.accountId }).from(perms).where(eq(perms.amiId, amiId));
  return rows.map((r) => r.accountId);
}

export async function setLaunchPermissions(
  store: Store,
  amiId: string,
  add: readonly string[],
  remove: readonly string[],
): Promise<void> {
  changed(store);
  await store.transaction(async (tx) => {
    const { amiLaunchPermissions: perms } = tx.t;
    if (add.length) {
      await tx.orm
        .insert(perms)
        .values(add.map((accountId) => ({ amiId, accountId })))
        .onConflictDoNothing();
    }
    if (remove.length) {
      await tx.orm.delete(perms).where(and(eq(perms.amiId, amiId), inArray(perms.accountId, [...remove])));
    }
  });
}

export async function listAmis(
  store: Store,
  args: { owner?: string; visibility?: AmiVisibility; filter?: AmiListFilter | null; first: number; after?: string | null },
): Promise<Page<AmiRecord> & { cursorOf(r: AmiRecord): string }> {
  const f = args.filter ?? {};
  const driver = await selectiveTag(store, f.tags);
  const base = listConditions(store, args, f, driver);
  const ks = keyset({ createdAt: store.t.amis.createdAt, id: store.t.amis.amiId }, base, args);
  const rows = await listedRows(store, driver, ks.where)
    .orderBy(...ks.orderBy)
    .limit(ks.limit);
  const total = () =>
    memoCount(store, JSON.stringify([args.owner ?? null, args.visibility ?? null, f]), async () => {
      const counted = await listedCount(store, driver, and(...base));
      return first(counted)?.n ?? 0;
    });
  return {
    ...(await pageOf(rows, args.first, ks, (page) => withTags(store, page), total)),
    cursorOf: (r) => encodeCursor({ createdAt: r.createdAt, id: r.amiId }),
  };
}

/**
 * Below this many AMIs carrying a tag, a tag-filtered list is read tag-first: those few AMIs by
 * primary key, then sorted. Above it the owner's (created_at-ordered) index is walked instead,
 * since a common tag matches within the first few hundred rows and a sort of thousands costs more.
 */
export const TAG_FIRST_LIMIT = 1000;

/**
 * The filter's tag with the fewest AMIs, when it has fewer than TAG_FIRST_LIMIT: the one to read
 * first. SQLite has no statistics (the server never runs ANALYZE) and walks the owner index
 * probing each row's tags, 20+ ms for a rare tag with region and state; each probe here reads at
 * most TAG_FIRST_LIMIT + 1 entries of ami_tags_key_value_idx. PostgreSQL plans this itself.
 */
async function selectiveTag(store: Store, tags: readonly TagRow[] | null | undefined): Promise<TagRow | undefined> {
  if (store.dialect !== 'sqlite' || !tags?.length) return undefined;
  const { amiTags } = store.t;
  let best: { tag: TagRow; n: number } | undefined;
  for (const tag of tags) {
    // Memoized with the counts (dropped on every write): a common tag's probe reads 1,001 entries.
    const n = await memoCount(store, JSON.stringify(['tag-first', tag.key, tag.value]), async () => {
      const capped = store.orm
        .select({ one: sql`1` })
        .from(amiTags)
        .where(and(eq(amiTags.key, tag.key), eq(amiTags.value, tag.value)))
        .limit(TAG_FIRST_LIMIT + 1)
        .as('capped');
      return first(await store.orm.select({ n: count() }).from(capped))?.n ?? 0;
    });
    if (n <= TAG_FIRST_LIMIT && (!best || n < best.n)) best = { tag, n };
  }
  return best?.tag;
}

/**
 * The AMIs matching `where`, or (with a driving tag) the AMIs carrying that tag: `ami_tags CROSS
 * JOIN amis`, which SQLite's planner never reorders, so the tag index drives and amis is read by
 * primary key.
 */
function listedRows(store: Store, driver: TagRow | undefined, where: SQL | undefined) {
  const { amis } = store.t;
  if (!driver) return store.orm.select(getTableColumns(amis)).from(amis).where(where).$dynamic();
  return store.orm
    .select(getTableColumns(amis))
    .from(store.t.amiTags)
    .crossJoin(amis)
    .where(byTag(store, driver, where))
    .$dynamic();
}

function listedCount(store: Store, driver: TagRow | undefined, where: SQL | undefined) {
  const { amis } = store.t;
  if (!driver) return store.orm.select({ n: count() }).from(amis).where(where);
  return store.orm
    .select({ n: count() })
    .from(store.t.amiTags)
    .crossJoin(amis)
    .where(byTag(store, driver, where));
}

function byTag(store: Store, driver: TagRow, where: SQL | undefined): SQL | undefined {
  const { amis, amiTags } = store.t;
  return and(eq(amiTags.key, driver.key), eq(amiTags.value, driver.value), eq(amis.amiId, amiTags.amiId), where);
}

function listConditions(
  store: Store,
  args: { owner?: string; visibility?: AmiVisibility },
  f: AmiListFilter,
  driver?: TagRow,
): SQL[] {
  const { amis, amiTags } = store.t;
  const base: SQL[] = [];
  if (args.owner !== undefined) base.push(eq(amis.owner, args.owner));
  if (args.visibility !== undefined) base.push(eq(amis.visibility, args.visibility));
  if (f.region) base.push(eq(amis.region, f.region));
  if (f.templateName) base.push(eq(amis.templateName, f.templateName));
  if (f.nameContains) base.push(store.containsText(amis.name, f.nameContains));
  if (f.visibility) base.push(eq(amis.visibility, f.visibility));
  if (f.state) base.push(eq(amis.state, f.state));
  for (const tag of f.tags ?? []) {
    if (tag === driver) continue; // joined instead (listedRows)
    base.push(
      exists(
        store.orm
          .select({ one: sql`1` })
          .from(amiTags)
          .where(and(eq(amiTags.amiId, amis.amiId), eq(amiTags.key, tag.key), eq(amiTags.value, tag.value))),
      ),
    );
  }
  return base;
}

/** An AMI of a template, and whether the creation that made it is still at work on it. */
export interface TemplateAmi extends AmiRow {
  /** PENDING or IN_PROGRESS, or a cancel still removing its images: the images are not settled. */
  creationActive: boolean;
  /** The source-region image of the creation that made it (the id a person knows the AMI by). */
  creationAmiId: string | null;
}

/** Every AMI (each region's image) `owner` has of one template, oldest first: one query. */
export async function amisOfTemplate(store: Store, owner: string, templateName: string): Promise<TemplateAmi[]> {
  const { amis, creations } = store.t;
  const rows = await store.orm
    .select({ ami: amis, status: creations.status, completedAt: creations.completedAt, sourceAmiId: creations.amiId })
    .from(amis)
    .leftJoin(creations, eq(amis.creationId, creations.id))
    .where(and(eq(amis.owner, owner), eq(amis.templateName, templateName)))
    .orderBy(asc(amis.createdAt), asc(amis.amiId));
  return rows.map((r) => ({
    ...r.ami,
    creationActive:
      r.status !== null && (ACTIVE_STATUSES.includes(r.status) || (r.status === 'CANCELLED' && r.completedAt === null)),
    creationAmiId: r.sourceAmiId,
  }));
}

/**
 * For each instance id, the newest source-region AMI that one of `owner`'s creations made from it:
 * one query (and one for the tags) for a whole page of instances.
 */
export async function latestAmisOfInstances(
  store: Store,
  owner: string,
  instanceIds: readonly string[],
): Promise<Map<string, AmiRecord>> {
  if (instanceIds.length === 0) return new Map();
  const { amis, creations } = store.t;
  const rows = await store.orm
    .select({ instanceId: creations.instanceId, ami: amis })
    .from(amis)
    .innerJoin(creations, eq(amis.creationId, creations.id))
    .where(
      and(eq(creations.owner, owner), inArray(creations.instanceId, [...instanceIds]), eq(amis.region, creations.sourceRegion)),
    )
    .orderBy(desc(amis.createdAt), desc(amis.amiId));
  const newest = new Map<string, AmiRow>();
  for (const r of rows) if (!newest.has(r.instanceId)) newest.set(r.instanceId, r.ami);
  const records = await withTags(store, [...newest.values()]);
  return new Map([...newest.keys()].map((instanceId, i) => [instanceId, records[i]!]));
}

async function withTags(store: Store, rows: AmiRow[]): Promise<AmiRecord[]> {
  if (rows.length === 0) return [];
  const { amiTags } = store.t;
  const byId = new Map<string, TagRow[]>();
  const tagRows = await store.orm
    .select()
    .from(amiTags)
    .where(
      inArray(
        amiTags.amiId,
        rows.map((r) => r.amiId),
      ),
    );
  for (const t of tagRows) {
    const list = byId.get(t.amiId) ?? [];
    list.push({ key: t.key, value: t.value });
    byId.set(t.amiId, list);
  }
  return rows.map((r) => ({ ...r, tags: byId.get(r.amiId) ?? [] }));
}
