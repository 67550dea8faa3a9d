// Data access for registered AMIs (one row per image per region), their tags and launch permissions.
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, exists, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { TagRow } from './creations.js';
import { afterCursor, decodeCursor, encodeCursor, newestFirst, type Cursor, type Page } from './pagination.js';
import { ACTIVE_STATUSES, type AmiRow, type AmiState, type AmiVisibility, type amis } from './schema.js';
import { first, likePattern, prepared, type Store } from './store.js';

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
 * List pages and counts, memoized per generation. Clients ask for the same pages and counts over
 * and over between changes (a count reads every matching row: tens of ms for a tag filter over
 * 100k AMIs; a page ~0.5 ms of SQL and mapping). Every write to amis, their tags or their launch
 * permissions goes through this module and, last in its transaction, replaces the generation's
 * token (ami_generation, schema.ts); a read memoized under one token is served only to a reader
 * that read the same token. The token is in the database, so a write on another replica or
 * process is seen on the next read; a random token, so a rolled-back write's never recurs.
 */
interface Memo {
  token: string;
  /** Reads in flight and done: concurrent requests after a write share one read instead of each making it. */
  entries: Map<string, Promise<unknown>>;
}
const memos = new WeakMap<object, Memo>();
/** Past this many pages and counts of one generation, its memo starts over. */
const MEMO_LIMIT = 500;
const GENERATION = 'amis';

function memoized<T>(store: Store, token: string, key: string, read: () => Promise<T>): Promise<T> {
  let memo = memos.get(store.identity);
  if (memo?.token !== token) memos.set(store.identity, (memo = { token, entries: new Map() }));
  const { entries } = memo;
  const known = entries.get(key) as Promise<T> | undefined;
  if (known) return known;
  if (entries.size >= MEMO_LIMIT) entries.clear();
  const reading = read();
  entries.set(key, reading);
  // A failed read is not kept: the next request reads again.
  reading.catch(() => entries.get(key) === reading && entries.delete(key));
  return reading;
}

/**
 * The current generation's token as a column any statement can select (null before the first
 * write). A request's authentication selects it beside the token lookup (tokens.ts), so a page it
 * then finds memoized costs no round trip of its own.
 */
export function amiGenerationColumn(store: Store): SQL<string | null> {
  return sql<string | null>`(${generationRow(store)})`;
}

/** The current generation's token ('' before the first write). */
async function generationOf(store: Store): Promise<string> {
  const query = prepared(store, 'ami generation', () => generationRow(store).prepare());
  return first(await query.execute({}))?.token ?? '';
}

function generationRow(store: Store) {
  const { amiGeneration: g } = store.t;
  return store.orm.select({ token: g.token }).from(g).where(eq(g.name, GENERATION));
}

/** Last in a transaction that wrote AMIs: what was memoized before it no longer holds. */
export async function markAmisChanged(tx: Store): Promise<void> {
  const { amiGeneration: g } = tx.t;
  const token = randomUUID();
  await tx.orm.insert(g).values({ name: GENERATION, token }).onConflictDoUpdate({ target: g.name, set: { token } });
}

/** Insert an AMI (or refresh it when already known) with its full tag set. */
export async function upsertAmi(store: Store, row: NewAmi, tags: TagRow[]): Promise<void> {
  await store.transaction(async (tx) => {
    const { amis, amiTags } = tx.t;
    const { amiId: _id, owner: _owner, createdAt: _created, ...rest } = row;
    await tx.orm.insert(amis).values(row).onConflictDoUpdate({ target: amis.amiId, set: rest });
    await tx.orm.delete(amiTags).where(eq(amiTags.amiId, row.amiId));
    if (tags.length) await tx.orm.insert(amiTags).values(tags.map((t) => ({ amiId: row.amiId, ...t })));
    await markAmisChanged(tx);
  });
}

export async function updateAmi(store: Store, amiId: string, patch: AmiPatch): Promise<void> {
  if (Object.keys(patch).length === 0) return;
  await store.transaction(async (tx) => {
    await tx.orm.update(tx.t.amis).set(patch).where(eq(tx.t.amis.amiId, amiId));
    await markAmisChanged(tx);
  });
}

export async function setAmiTag(store: Store, amiId: string, tag: TagRow): Promise<void> {
  await store.transaction(async (tx) => {
    const { amiTags } = tx.t;
    await tx.orm
      .insert(amiTags)
      .values({ amiId, ...tag })
      .onConflictDoUpdate({ target: [amiTags.amiId, amiTags.key], set: { value: tag.value } });
    await markAmisChanged(tx);
  });
}

export async function removeAmiTag(store: Store, amiId: string, key: string): Promise<void> {
  await store.transaction(async (tx) => {
    const { amiTags } = tx.t;
    await tx.orm.delete(amiTags).where(and(eq(amiTags.amiId, amiId), eq(amiTags.key, key)));
    await markAmisChanged(tx);
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
    await markAmisChanged(tx);
  });
}

type ListArgs = {
  owner?: string;
  visibility?: AmiVisibility;
  filter?: AmiListFilter | null;
  first: number;
  after?: string | null;
  /**
   * The generation read at the start of the request, with its credentials
   * (amiGenerationColumn); read here when not given. A page memoized under it is as new as the
   * request's start, or newer.
   */
  generation?: string;
};

export async function listAmis(store: Store, args: ListArgs): Promise<Page<AmiRecord> & { cursorOf(r: AmiRecord): string }> {
  const f = args.filter ?? {};
  const token = args.generation ?? (await generationOf(store));
  const driver = await selectiveTag(store, token, f.tags);
  const cursor = args.after ? decodeCursor(args.after) : undefined;
  // The tags probed with EXISTS: all but the driving one, which is joined instead.
  const probed = (f.tags ?? []).filter((tag) => tag !== driver);
  const shape = shapeOf(args, f, { driver, probed: probed.length, cursor: cursor !== undefined });
  const values = shapeValues(args, f, { driver, probed, cursor });
  // Shared by every reader of this generation: nothing downstream changes a record.
  const page = await memoized(store, token, `page ${shape.key} ${JSON.stringify(values)}`, async () => {
    const rows = await prepared(store, `page ${shape.key}`, () => pageQuery(store, shape)).execute(values);
    return { items: rows.slice(0, args.first).map(withParsedTags), hasNextPage: rows.length > args.first };
  });
  const total = () =>
    memoized(store, token, `count ${JSON.stringify([args.owner ?? null, args.visibility ?? null, f])}`, async () => {
      const counted = await prepared(store, `count ${shape.key}`, () => countQuery(store, shape)).execute(values);
      return first(counted)?.n ?? 0;
    });
  return {
    ...page,
    hasPreviousPage: cursor !== undefined,
    totalCount: total,
    cursorOf: (r) => encodeCursor({ createdAt: r.createdAt, id: r.amiId }),
  };
}

/**
 * Which criteria a list request has (not their values): each shape's page and count are built and
 * compiled once per connection (`prepared`), and a request only binds its values. Building the
 * query text through drizzle was ~12% of a list request's CPU (bench/README.md §12).
 */
interface ListShape {
  key: string;
  owner: boolean;
  visibility: boolean;
  region: boolean;
  templateName: boolean;
  nameContains: boolean;
  filterVisibility: boolean;
  state: boolean;
  /** How many tags are tested with EXISTS (the driving tag, if any, is joined instead). */
  tags: number;
  driver: boolean;
  cursor: boolean;
}

function shapeOf(
  args: ListArgs,
  f: AmiListFilter,
  { driver, probed, cursor }: { driver: TagRow | undefined; probed: number; cursor: boolean },
): ListShape {
  const shape = {
    owner: args.owner !== undefined,
    visibility: args.visibility !== undefined,
    region: Boolean(f.region),
    templateName: Boolean(f.templateName),
    nameContains: Boolean(f.nameContains),
    filterVisibility: Boolean(f.visibility),
    state: Boolean(f.state),
    tags: probed,
    driver: driver !== undefined,
    cursor,
  };
  return { key: JSON.stringify(Object.values(shape)), ...shape };
}

/** The values of a request's placeholders (named as in `listConditions`). */
function shapeValues(
  args: ListArgs,
  f: AmiListFilter,
  { driver, probed, cursor }: { driver: TagRow | undefined; probed: readonly TagRow[]; cursor: Cursor | undefined },
) {
  const values: Record<string, unknown> = {
    owner: args.owner,
    visibility: args.visibility,
    region: f.region,
    templateName: f.templateName,
    pattern: f.nameContains ? likePattern(f.nameContains) : undefined,
    filterVisibility: f.visibility,
    state: f.state,
    driverKey: driver?.key,
    driverValue: driver?.value,
    afterCreatedAt: cursor?.createdAt,
    afterId: cursor?.id,
    limit: args.first + 1,
  };
  probed.forEach((tag, i) => {
    values[`tagKey${i}`] = tag.key;
    values[`tagValue${i}`] = tag.value;
  });
  return values;
}

/**
 * One statement for the page and its tags (`tagsOfAmi`, a correlated subquery): one round trip on
 * PostgreSQL. drizzle's `.prepare()` keeps the SQL text and parameter order; on PostgreSQL it is
 * sent unnamed, so each request is planned for its own values (a rare and a common tag differ).
 */
function pageQuery(store: Store, shape: ListShape) {
  const { amis } = store.t;
  const columns = { createdAt: amis.createdAt, id: amis.amiId };
  const conds = listConditions(store, shape);
  if (shape.cursor) conds.push(afterCursor(columns, sql.placeholder('afterCreatedAt'), sql.placeholder('afterId')));
  const selection = { ...getTableColumns(amis), tags: sql<unknown>`${store.tagsOfAmi}` };
  const from = shape.driver
    ? store.orm
        .select(selection)
        .from(store.t.amiTags)
        .crossJoin(amis)
        .where(byTag(store, and(...conds)))
    : store.orm
        .select(selection)
        .from(amis)
        .where(and(...conds));
  return from
    .orderBy(...newestFirst(columns))
    .limit(sql.placeholder('limit'))
    .prepare();
}

function countQuery(store: Store, shape: ListShape) {
  const { amis } = store.t;
  const where = and(...listConditions(store, shape));
  if (!shape.driver) return store.orm.select({ n: count() }).from(amis).where(where).prepare();
  return store.orm.select({ n: count() }).from(store.t.amiTags).crossJoin(amis).where(byTag(store, where)).prepare();
}

/** The row with the tags `tagsOfAmi` read, as either engine returns them (in place: a copy of 22 fields cost more). */
function withParsedTags(row: AmiRow & { tags: unknown }): AmiRecord {
  const tags = typeof row.tags === 'string' ? (JSON.parse(row.tags) as unknown) : row.tags;
  row.tags = Array.isArray(tags) ? (tags as TagRow[]) : [];
  return row as AmiRecord;
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
async function selectiveTag(
  store: Store,
  token: string,
  tags: readonly TagRow[] | null | undefined,
): Promise<TagRow | undefined> {
  if (store.dialect !== 'sqlite' || !tags?.length) return undefined;
  const { amiTags } = store.t;
  let best: { tag: TagRow; n: number } | undefined;
  for (const tag of tags) {
    // Memoized with the counts, per generation: a common tag's probe reads 1,001 entries.
    const n = await memoized(store, token, JSON.stringify(['tag-first', tag.key, tag.value]), async () => {
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
 * With a driving tag, the AMIs carrying it: `ami_tags CROSS JOIN amis`, which SQLite's planner
 * never reorders, so the tag index drives and amis is read by primary key.
 */
function byTag(store: Store, where: SQL | undefined): SQL | undefined {
  const { amis, amiTags } = store.t;
  return and(
    eq(amiTags.key, sql.placeholder('driverKey')),
    eq(amiTags.value, sql.placeholder('driverValue')),
    eq(amis.amiId, amiTags.amiId),
    where,
  );
}

/** The shape's criteria, each value a placeholder named as in `shapeValues`. */
function listConditions(store: Store, shape: ListShape): SQL[] {
  const { amis, amiTags } = store.t;
  const p = (name: string) => sql.placeholder(name);
  const base: SQL[] = [];
  if (shape.owner) base.push(eq(amis.owner, p('owner')));
  if (shape.visibility) base.push(eq(amis.visibility, p('visibility')));
  if (shape.region) base.push(eq(amis.region, p('region')));
  if (shape.templateName) base.push(eq(amis.templateName, p('templateName')));
  if (shape.nameContains) base.push(store.matchesPattern(amis.name, p('pattern')));
  if (shape.filterVisibility) base.push(eq(amis.visibility, p('filterVisibility')));
  if (shape.state) base.push(eq(amis.state, p('state')));
  for (let i = 0; i < shape.tags; i++) {
    base.push(
      exists(
        store.orm
          .select({ one: sql`1` })
          .from(amiTags)
          .where(and(eq(amiTags.amiId, amis.amiId), eq(amiTags.key, p(`tagKey${i}`)), eq(amiTags.value, p(`tagValue${i}`)))),
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
