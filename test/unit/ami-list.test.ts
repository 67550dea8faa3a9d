// The AMI list's query paths against a seeded store (run on SQLite and on PostgreSQL): a rare tag is
// read tag-first on SQLite, a common one through the owner index, and either way the pages, their
// order and totalCount are those of the plain definition (every criterion, newest first); and the
// batched creation lookup of Ami.creation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAmis, setAmiTag, TAG_FIRST_LIMIT, type AmiListFilter, type AmiRecord } from '../../src/db/amis.js';
import type { AmiState } from '../../src/db/schema.js';
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

interface Seeded {
  amiId: string;
  owner: string;
  region: string;
  state: AmiState;
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
      region: REGIONS[i % 3]!,
      state: STATES[i % 4]!,
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
          name: `image-${r.amiId}`,
          state: r.state,
          visibility: 'PRIVATE' as const,
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

/** The list by definition: the owner's rows matching every criterion, newest first, ties by id descending. */
function expected(rows: Seeded[], f: AmiListFilter): string[] {
  return rows
    .filter(
      (r) =>
        r.owner === 'tester' &&
        (!f.region || r.region === f.region) &&
        (!f.state || r.state === f.state) &&
        (f.tags ?? []).every((t) => r.tags.some((x) => x.key === t.key && x.value === t.value)),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.amiId < b.amiId ? 1 : -1))
    .map((r) => r.amiId);
}

/** Every page of the list, following endCursor, and the first page's totalCount. */
async function walk(filter: AmiListFilter, first: number): Promise<{ ids: string[]; total: number; tags: AmiRecord[] }> {
  const ids: string[] = [];
  const all: AmiRecord[] = [];
  let after: string | null = null;
  let total = -1;
  for (;;) {
    const page = await listAmis(h.deps.db, { owner: 'tester', filter, first, after });
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
