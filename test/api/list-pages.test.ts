// List pages over HTTP are memoized per generation of the AMI list, and each request reads the
// generation with its credentials (src/db/tokens.ts): a page must still follow every write to the
// database at once, including one this server did not make (another replica, the CLI), on both
// stores.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { updateAmi, upsertAmi, type NewAmi } from '../../src/db/amis.js';
import { CommunityAmisDocument, UserAmisDocument } from '../../src/generated/graphql/graphql.js';
import { startTestApp, TEST_USER, type TestApp } from '../support/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator' });
});
afterAll(() => t.stop());

const T0 = Date.UTC(2026, 0, 1);
const row = (amiId: string, createdAt: number): NewAmi => ({
  amiId,
  region: 'us-east-1',
  owner: TEST_USER,
  name: `image ${amiId}`,
  state: 'AVAILABLE',
  visibility: 'PRIVATE',
  snapshotIds: [],
  createdAt,
  updatedAt: createdAt,
});

const mine = async () => {
  const page = (await t.gql(UserAmisDocument, { first: 10 })).userAmis;
  return { ids: page.edges.map((e) => e.node.amiId), total: page.totalCount };
};
const community = async () => (await t.gql(CommunityAmisDocument, { first: 10 })).communityAmis.edges.map((e) => e.node.amiId);

it('shows a write made straight to the database on the next page and count, each time', async () => {
  const db = t.app.deps.db;
  expect(await mine()).toEqual({ ids: [], total: 0 });
  await upsertAmi(db, row('ami-00000000000000001', T0), []);
  expect(await mine()).toEqual({ ids: ['ami-00000000000000001'], total: 1 });
  expect(await mine()).toEqual({ ids: ['ami-00000000000000001'], total: 1 });
  await upsertAmi(db, row('ami-00000000000000002', T0 + 1), []);
  expect(await mine()).toEqual({ ids: ['ami-00000000000000002', 'ami-00000000000000001'], total: 2 });
  expect(await community()).toEqual([]);
  await updateAmi(db, 'ami-00000000000000001', { visibility: 'PUBLIC' });
  expect(await community()).toEqual(['ami-00000000000000001']);
  await updateAmi(db, 'ami-00000000000000002', { state: 'DEREGISTERED' });
  const page = (await t.gql(UserAmisDocument, { first: 10, filter: { state: 'AVAILABLE' } })).userAmis;
  expect(page.edges.map((e) => e.node.amiId)).toEqual(['ami-00000000000000001']);
});
