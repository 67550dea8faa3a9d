// The AMI list's query paths against a seeded store (run on SQLite and on PostgreSQL): a rare tag is
// read tag-first on SQLite, a common one through the owner index, and either way the pages, their
// order and totalCount are those of the plain definition (every criterion, newest first); and the
// batched creation lookup of Ami.creation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listAmis,
  removeAmiTag,
  setAmiTag,
  TAG_FIRST_LIMIT,
  updateAmi,
  upsertAmi,
  type AmiListFilter,
  type AmiRecord,
  type NewAmi,
} from '../../src/db/amis.js';
import { openStore, type Store } from '../../src/db/store.js';
import { insertToken, userOfTokenHash } from '../../src/db/tokens.js';
import { testDatabaseEnv } from '../support/postgres.js';
import type { AmiState, AmiVisibility } from '../../src/db/schema.js';
import { createUnitHarness, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;
beforeEach(async () => {
  h = await createUnitHarness();
});
afterEach(() => h.close());

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const STATES: AmiState[] = ['AVAILABLE', 'AVAILABLE', 'DEREGISTERED', 'PENDING'];
/** More AMIs than TAG_FIRST_LIMIT carry team=common, so that tag takes the owner-index path. */
const COUNT = TAG_FIRST_LIMIT + 200;
const T0 = Date.UTC(2026, 0, 1);

const VISIBILITIES: AmiVisibility[] = ['PRIVATE', 'PRIVATE', 'SHARED', 'PUBLIC', 'PRIVATE'];

interface Seeded {
  amiId: string;
  owner: string;
  name: string;
  region: string;
  state: AmiState;
  visibility: AmiVisibility;
  templateName: string | null;
  createdAt: number;
  tags: { key: string; value: string }[];
}

/** COUNT AMIs, some with equal created_at (ties broken by id), 1 in 10 another user's. */
async function seed(): Promise<Seeded[]> {
  const { amis, amiTags } = h.deps.db.t;
  const rows: Seeded[] = [];
  for (let i = 0; i < COUNT; i++) {
    rows.push({
      amiId: `ami-${i.toString(16).padStart(17, '0')}`,
      owner: i % 10 === 3 ? 'someone-else' : 'tester',
      // Some names with the LIKE wildcards % and _ in them, which nameContains takes literally.
      name: i % 13 === 0 ? `db_${i}%x` : `Image-${i}`,
      region: REGIONS[i % 3]!,
      state: STATES[i % 4]!,
      visibility: VISIBILITIES[i % 5]!,
      templateName: i % 6 === 0 ? null : `tpl-${i % 5}`,
      createdAt: T0 + Math.floor(i / 2) * 1000,
      tags: [
        { key: 'team', value: 'common' },
        { key: 'project', value: i % 7 === 0 ? 'rare' : `p${i % 50}` },
        ...(i % 11 === 0 ? [{ key: 'stage', value: 'beta' }] : []),
      ],
    });
  }
  await h.deps.db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200);
      await tx.orm.insert(amis).values(
        batch.map((r) => ({
          amiId: r.amiId,
          region: r.region,
          owner: r.owner,
          name: r.name,
          state: r.state,
          visibility: r.visibility,
          templateName: r.templateName,
          createdAt: r.createdAt,
          updatedAt: r.createdAt,
          snapshotIds: [],
        })),
      );
      await tx.orm.insert(amiTags).values(batch.flatMap((r) => r.tags.map((t) => ({ amiId: r.amiId, ...t }))));
    }
  });
  return rows;
}

/** The list by definition: the owner's (or the public) rows matching every criterion, newest first, ties by id descending. */
function expected(rows: Seeded[], f: AmiListFilter, of: Of = { owner: 'tester' }): string[] {
  return rows
    .filter(
      (r) =>
        (of.owner === undefined || r.owner === of.owner) &&
        (of.visibility === undefined || r.visibility === of.visibility) &&
        (!f.region || r.region === f.region) &&
        (!f.templateName || r.templateName === f.templateName) &&
        (!f.nameContains || r.name.toLowerCase().includes(f.nameContains.toLowerCase())) &&
        (!f.visibility || r.visibility === f.visibility) &&
        (!f.state || r.state === f.state) &&
        (f.tags ?? []).every((t) => r.tags.some((x) => x.key === t.key && x.value === t.value)),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.amiId < b.amiId ? 1 : -1))
    .map((r) => r.amiId);
}

/** Whose list: a user's (userAmis) or the public one (communityAmis). */
type Of = { owner?: string; visibility?: AmiVisibility };

/** Every page of the list, following endCursor, and the first page's totalCount. */
async function walk(
  filter: AmiListFilter,
  first: number,
  of: Of = { owner: 'tester' },
): Promise<{ ids: string[]; total: number; tags: AmiRecord[] }> {
  const ids: string[] = [];
  const all: AmiRecord[] = [];
  let after: string | null = null;
  let total = -1;
  for (;;) {
    const page = await listAmis(h.deps.db, { ...of, filter, first, after });
    if (total < 0) total = await page.totalCount();
    ids.push(...page.items.map((a) => a.amiId));
    all.push(...page.items);
    if (!page.hasNextPage) break;
    after = page.cursorOf(page.items[page.items.length - 1]!);
  }
  return { ids, total, tags: all };
}

describe('AMI list query paths', () => {
  const filters: [string, AmiListFilter][] = [
    ['a rare tag (tag-first)', { tags: [{ key: 'project', value: 'rare' }] }],
    ['region + state + a rare tag', { region: 'us-west-2', state: 'AVAILABLE', tags: [{ key: 'project', value: 'rare' }] }],
    ['a common tag (owner index)', { tags: [{ key: 'team', value: 'common' }] }],
    [
      'a common and a rare tag',
      {
        tags: [
          { key: 'team', value: 'common' },
          { key: 'stage', value: 'beta' },
        ],
      },
    ],
    [
      'two rare tags',
      {
        tags: [
          { key: 'project', value: 'rare' },
          { key: 'stage', value: 'beta' },
        ],
      },
    ],
    ['a tag no AMI has', { region: 'eu-west-1', tags: [{ key: 'project', value: 'nowhere' }] }],
  ];

  it.each(filters)('pages %s in created_at, id order with the plain totalCount', async (_name, filter) => {
    const rows = await seed();
    const want = expected(rows, filter);
    const got = await walk(filter, 40);
    expect(got.ids).toEqual(want);
    expect(got.total).toBe(want.length);
  });

  it('lists an AMI tagged after a first tag-first page, with totalCount one higher', async () => {
    const rows = await seed();
    const filter = { tags: [{ key: 'project', value: 'rare' }] };
    const before = await walk(filter, 100);
    const untagged = rows.find((r) => r.owner === 'tester' && !r.tags.some((t) => t.value === 'rare'))!;
    await setAmiTag(h.deps.db, untagged.amiId, { key: 'project', value: 'rare' });
    const after = await walk(filter, 100);
    expect(after.total).toBe(before.total + 1);
    expect(after.ids).toContain(untagged.amiId);
  });

  it('returns each AMI of a tag-first page with its full tag set', async () => {
    const rows = await seed();
    const { tags: listed } = await walk({ tags: [{ key: 'project', value: 'rare' }] }, 100);
    expect(listed.length).toBeGreaterThan(0);
    for (const a of listed) {
      const sorted = (t: { key: string; value: string }[]) => [...t].sort((x, y) => x.key.localeCompare(y.key));
      expect(sorted(a.tags)).toEqual(sorted(rows.find((r) => r.amiId === a.amiId)!.tags));
    }
  });
});

describe('AMI list queries prepared once per shape', () => {
  // Each shape (which criteria are given) is compiled once and then only bound: several filters of
  // one shape in a row must each get their own rows, on the first page and after a cursor.
  const filters: [string, AmiListFilter, Of?][] = [
    ['no criteria', {}],
    ['region', { region: 'us-east-1' }],
    ['another region (same shape)', { region: 'eu-west-1' }],
    ['templateName', { templateName: 'tpl-2' }],
    ['nameContains, case-insensitive', { nameContains: 'IMAGE-12' }],
    ['nameContains with _ and % taken literally', { nameContains: 'b_1' }],
    ['nameContains %', { nameContains: '9%' }],
    ['visibility', { visibility: 'SHARED' }],
    ['state', { state: 'PENDING' }],
    ['region + templateName + state', { region: 'us-west-2', templateName: 'tpl-1', state: 'AVAILABLE' }],
    [
      'every criterion',
      {
        region: 'us-west-2',
        templateName: 'tpl-3',
        nameContains: 'image',
        visibility: 'PUBLIC',
        state: 'AVAILABLE',
        tags: [{ key: 'team', value: 'common' }],
      },
    ],
    ['a rare tag + visibility', { visibility: 'PRIVATE', tags: [{ key: 'project', value: 'rare' }] }],
    ['another tag (same shape)', { visibility: 'PUBLIC', tags: [{ key: 'project', value: 'p8' }] }],
    [
      'three tags',
      {
        tags: [
          { key: 'team', value: 'common' },
          { key: 'project', value: 'p22' },
          { key: 'stage', value: 'beta' },
        ],
      },
    ],
    ['the community list', {}, { visibility: 'PUBLIC' }],
    ['the community list by region', { region: 'us-west-2' }, { visibility: 'PUBLIC' }],
  ];

  it('pages every filter shape as the plain definition, with its totalCount', async () => {
    const rows = await seed();
    for (const [name, filter, of] of filters) {
      const want = expected(rows, filter, of);
      expect(want.length, name).toBeGreaterThan(0);
      const got = await walk(filter, 37, of);
      expect(got.ids, name).toEqual(want);
      expect(got.total, name).toBe(want.length);
    }
  });

  it('returns each AMI with its full tag set, ordered by key, in the page query itself', async () => {
    const rows = await seed();
    const { tags: listed } = await walk({ region: 'us-east-1' }, 100);
    expect(listed.length).toBeGreaterThan(100);
    for (const a of listed) {
      const seeded = rows.find((r) => r.amiId === a.amiId)!.tags;
      expect(a.tags).toEqual([...seeded].sort((x, y) => (x.key < y.key ? -1 : 1)));
    }
  });

  it('gives an AMI without tags an empty list', async () => {
    await seed();
    const { amis } = h.deps.db.t;
    await h.deps.db.orm.insert(amis).values({
      amiId: 'ami-fffffffffffffffff',
      region: 'us-east-1',
      owner: 'tester',
      name: 'untagged',
      state: 'AVAILABLE',
      createdAt: T0 + 10_000_000,
      updatedAt: T0,
      snapshotIds: ['snap-1'],
    });
    const page = await listAmis(h.deps.db, { owner: 'tester', first: 1 });
    expect(page.items.map((a) => [a.amiId, a.tags, a.snapshotIds])).toEqual([['ami-fffffffffffffffff', [], ['snap-1']]]);
  });
});

describe('AMI list pages and counts, memoized per generation', () => {
  const row = (amiId: string, createdAt: number, name = amiId): NewAmi => ({
    amiId,
    region: 'us-east-1',
    owner: 'tester',
    name,
    state: 'AVAILABLE',
    visibility: 'PRIVATE',
    snapshotIds: [],
    createdAt,
    updatedAt: createdAt,
  });
  const page = async (store: Store, filter: AmiListFilter = {}) => {
    const p = await listAmis(store, { owner: 'tester', filter, first: 10 });
    return { names: p.items.map((a) => a.name), total: await p.totalCount() };
  };

  it('answers a page again from memory, and after each kind of write the next page shows it', async () => {
    const db = h.deps.db;
    await upsertAmi(db, row('ami-1', T0), [{ key: 'team', value: 'a' }]);
    expect(await page(db)).toEqual({ names: ['ami-1'], total: 1 });
    const again = await listAmis(db, { owner: 'tester', filter: {}, first: 10 });
    expect(again.items[0]).toBe((await listAmis(db, { owner: 'tester', filter: {}, first: 10 })).items[0]);
    await upsertAmi(db, row('ami-2', T0 + 1), []);
    expect(await page(db)).toEqual({ names: ['ami-2', 'ami-1'], total: 2 });
    await updateAmi(db, 'ami-1', { name: 'renamed' });
    expect((await page(db)).names).toEqual(['ami-2', 'renamed']);
    const tagged = { tags: [{ key: 'team', value: 'b' }] };
    expect(await page(db, tagged)).toEqual({ names: [], total: 0 });
    await setAmiTag(db, 'ami-2', { key: 'team', value: 'b' });
    expect(await page(db, tagged)).toEqual({ names: ['ami-2'], total: 1 });
    await removeAmiTag(db, 'ami-2', 'team');
    expect(await page(db, tagged)).toEqual({ names: [], total: 0 });
    const shared = { visibility: 'SHARED' as const };
    expect(await page(db, shared)).toEqual({ names: [], total: 0 });
    await updateAmi(db, 'ami-2', { visibility: 'SHARED' });
    expect(await page(db, shared)).toEqual({ names: ['ami-2'], total: 1 });
  });

  /** Two stores of one database (a temporary SQLite file, or a PostgreSQL database of its own): two replicas. */
  async function withTwoStores(test: (a: Store, b: Store) => Promise<void>): Promise<void> {
    const database = await testDatabaseEnv();
    const dir = mkdtempSync(join(tmpdir(), 'prism-ami-list-'));
    const where = { databaseUrl: database.env.DATABASE_URL, databasePath: join(dir, 'prism.db') };
    const [a, b] = [await openStore(where), await openStore(where)];
    try {
      await test(a, b);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('sees a write made through another store of the same database (another replica, the CLI) on its next page', () =>
    withTwoStores(async (a, b) => {
      await upsertAmi(a, row('ami-1', T0), []);
      expect(await page(b)).toEqual({ names: ['ami-1'], total: 1 });
      await upsertAmi(a, row('ami-2', T0 + 1), []);
      expect(await page(b)).toEqual({ names: ['ami-2', 'ami-1'], total: 2 });
      await updateAmi(a, 'ami-1', { state: 'DEREGISTERED' });
      expect(await page(b, { state: 'AVAILABLE' })).toEqual({ names: ['ami-2'], total: 1 });
    }));

  it("serves a request from the memo of the generation its authentication read, and a later request's generation shows later writes", () =>
    withTwoStores(async (a, b) => {
      const generation = async () => (await userOfTokenHash(a, 'hash-1'))!.amiGeneration;
      await insertToken(a, { id: 't1', user: 'tester', admin: false, tokenHash: 'hash-1', createdAt: T0 });
      expect(await generation()).toBe('');
      await upsertAmi(a, row('ami-1', T0), []);
      const before = await generation();
      expect(before).not.toBe('');
      const at = async (token: string) =>
        (await listAmis(a, { owner: 'tester', first: 10, generation: token })).items.map((i) => i.name);
      expect(await at(before)).toEqual(['ami-1']);
      // Written through another store: only a request that starts after it may see it.
      await upsertAmi(b, row('ami-2', T0 + 1), []);
      expect(await at(before)).toEqual(['ami-1']);
      const after = await generation();
      expect(after).not.toBe(before);
      expect(await at(after)).toEqual(['ami-2', 'ami-1']);
    }));

  it('gives requests that miss at the same time one read, not one each', async () => {
    const db = h.deps.db;
    await upsertAmi(db, row('ami-1', T0), []);
    const [a, b] = await Promise.all([
      listAmis(db, { owner: 'tester', filter: {}, first: 10 }),
      listAmis(db, { owner: 'tester', filter: {}, first: 10 }),
    ]);
    expect(a.items).toBe(b.items);
    expect(a.items.map((i) => i.name)).toEqual(['ami-1']);
  });

  it('never answers what a rolled-back transaction wrote', async () => {
    const db = h.deps.db;
    await upsertAmi(db, row('ami-1', T0), []);
    expect(await page(db)).toEqual({ names: ['ami-1'], total: 1 });
    const failed = db.transaction(async (tx) => {
      await upsertAmi(tx, row('ami-2', T0 + 1), []);
      expect((await page(tx)).names).toEqual(['ami-2', 'ami-1']);
      throw new Error('rolled back');
    });
    await expect(failed).rejects.toThrow('rolled back');
    expect(await page(db)).toEqual({ names: ['ami-1'], total: 1 });
  });
});

describe('the creation loader of Ami.creation', () => {
  it("answers each id in the order asked, the viewer's creation, null for another user's or an unknown id", async () => {
    const mine = await h.create({ name: 'mine' });
    const also = await h.create({ name: 'also mine' });
    const theirs = await h.services.creations.create(
      { user: 'alice', admin: true },
      { instance: h.fake.addInstance(), name: 'theirs', noReboot: true },
    );
    const loader = h.services.creations.loader(h.viewer);
    const got = await Promise.all([also.id, theirs.id, 'no-such-id', mine.id].map((id) => loader.load(id)));
    expect(got.map((c) => c?.name ?? null)).toEqual(['also mine', null, null, 'mine']);
    expect(got[0]).toEqual(await h.services.creations.get(h.viewer, also.id));
  });
});
