// Benchmark 4: `userAmis(first: 50)` with filters over 100,000 AMIs in SQLite, with autocannon
// (50 connections), as a ratio to yoga's `{ __typename }` on the same server in the same run.
// The query plans of the SQL the service really sends (captured from drizzle's logger while
// calling src/db/amis.ts listAmis) are printed with EXPLAIN QUERY PLAN.
//
//   npx tsx bench/query-throughput.ts [--rows 100000] [--seconds 8] [--connections 50]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { listAmis, type AmiListFilter } from '../src/db/amis.js';
import { openSqliteStore } from '../src/db/sqlite.js';
import * as schema from '../src/db/schema.js';
import { amis, amiTags, users } from '../src/db/schema.js';
import { load, RESULTS_DIR, round, saveResult, sleep, startIpcChild, table } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    'plans-only': { type: 'boolean', default: false },
    /** Profile the server (inspector, measured run only) while this query runs, e.g. --cpu-prof "userAmis(first: 50)". */
    'cpu-prof': { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const OWNER = 'bench';
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1'];
const TEAMS = ['genomics', 'imaging', 'climate', 'teaching', 'ml', 'physics', 'chemistry', 'neuro'];

/** Deterministic pseudo-random numbers, so every run has the same data set. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function populate(path: string): void {
  const t0 = performance.now();
  // Written with SQLite's synchronous builders: a fast bulk load, not the server's data access.
  const handle = openSqliteStore(path);
  const db = handle.orm;
  const rand = rng(42);
  const now = Date.now();
  db.insert(users)
    .values([{ name: OWNER }, { name: 'someone-else' }])
    .onConflictDoNothing()
    .run();
  db.transaction((tx: typeof db) => {
    const rowsBatch: (typeof amis.$inferInsert)[] = [];
    const tagsBatch: (typeof amiTags.$inferInsert)[] = [];
    const flush = () => {
      if (rowsBatch.length) tx.insert(amis).values(rowsBatch).run();
      if (tagsBatch.length) tx.insert(amiTags).values(tagsBatch).run();
      rowsBatch.length = 0;
      tagsBatch.length = 0;
    };
    for (let i = 0; i < ROWS; i++) {
      const amiId = `ami-${i.toString(16).padStart(17, '0')}`;
      // 90% the viewer's, 10% another user's; 2% public.
      const owner = rand() < 0.9 ? OWNER : 'someone-else';
      const r = rand();
      rowsBatch.push({
        amiId,
        region: REGIONS[Math.floor(rand() * REGIONS.length)]!,
        owner,
        name: `workstation-${TEAMS[i % TEAMS.length]}-${i}`,
        description: null,
        architecture: rand() < 0.7 ? 'x86_64' : 'arm64',
        state: r < 0.85 ? 'AVAILABLE' : r < 0.95 ? 'DEREGISTERED' : r < 0.99 ? 'PENDING' : 'FAILED',
        visibility: rand() < 0.02 ? 'PUBLIC' : rand() < 0.1 ? 'SHARED' : 'PRIVATE',
        sizeGiB: 8 + Math.floor(rand() * 200),
        templateName: `template-${Math.floor(rand() * 50)}`,
        snapshotIds: [`snap-${i.toString(16).padStart(17, '0')}`],
        createdAt: now - (ROWS - i) * 60_000,
        updatedAt: now,
      });
      tagsBatch.push({ amiId, key: 'team', value: TEAMS[Math.floor(rand() * TEAMS.length)]! });
      tagsBatch.push({ amiId, key: 'project', value: `p${Math.floor(rand() * 500)}` });
      if (rowsBatch.length === 500) flush();
    }
    flush();
  });
  // No ANALYZE: the server never runs it, so the planner sees what production sees.
  handle.sqlite.close();
  console.error(`populated ${ROWS} AMIs (${ROWS * 2} tags) in ${round((performance.now() - t0) / 1000, 1)} s`);
}

const SELECTION = `edges { cursor node { amiId name region state visibility createdAt sizeGiB templateName tags { key value } } } pageInfo { hasNextPage endCursor } totalCount`;

const QUERIES: { name: string; query: string; filter?: AmiListFilter }[] = [
  { name: 'baseline { __typename }', query: '{ __typename }' },
  { name: 'userAmis(first: 50)', query: `{ userAmis(first: 50) { ${SELECTION} } }`, filter: {} },
  {
    name: 'userAmis region',
    query: `{ userAmis(first: 50, filter: { region: "eu-west-1" }) { ${SELECTION} } }`,
    filter: { region: 'eu-west-1' },
  },
  {
    name: 'userAmis state',
    query: `{ userAmis(first: 50, filter: { state: FAILED }) { ${SELECTION} } }`,
    filter: { state: 'FAILED' },
  },
  {
    name: 'userAmis templateName',
    query: `{ userAmis(first: 50, filter: { templateName: "template-7" }) { ${SELECTION} } }`,
    filter: { templateName: 'template-7' },
  },
  {
    name: 'userAmis tag',
    query: `{ userAmis(first: 50, filter: { tags: [{ key: "team", value: "genomics" }] }) { ${SELECTION} } }`,
    filter: { tags: [{ key: 'team', value: 'genomics' }] },
  },
  {
    name: 'userAmis nameContains',
    query: `{ userAmis(first: 50, filter: { nameContains: "imaging-9" }) { ${SELECTION} } }`,
    filter: { nameContains: 'imaging-9' },
  },
  {
    name: 'userAmis region+state+tag',
    query: `{ userAmis(first: 50, filter: { region: "us-west-2", state: AVAILABLE, tags: [{ key: "project", value: "p7" }] }) { ${SELECTION} } }`,
    filter: { region: 'us-west-2', state: 'AVAILABLE', tags: [{ key: 'project', value: 'p7' }] },
  },
];

/** The SQL listAmis really runs for a filter, and SQLite's plan for each statement. */
async function plans(path: string): Promise<{ name: string; statements: { sql: string; plan: string[]; medianMs: number }[] }[]> {
  const store = openSqliteStore(path);
  const sqlite = store.sqlite;
  const out: { name: string; statements: { sql: string; plan: string[]; medianMs: number }[] }[] = [];
  for (const q of QUERIES) {
    if (!q.filter) continue;
    const captured: { sql: string; params: unknown[] }[] = [];
    const orm = drizzle(sqlite, { schema, logger: { logQuery: (sql, params) => captured.push({ sql, params }) } });
    await listAmis({ ...store, orm }, { owner: OWNER, filter: q.filter, first: 50 });
    const ms = await medianMs(() => listAmis(store, { owner: OWNER, filter: q.filter, first: 50 }));
    out.push({
      name: `${q.name}: listAmis ${ms} ms (median, in-process)`,
      statements: await Promise.all(
        captured.map(async ({ sql, params }) => ({
          sql,
          medianMs: await medianMs(() => sqlite.prepare(sql).all(...params)),
          plan: (
            sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { id: number; parent: number; detail: string }[]
          ).map((r) => `${r.parent ? '  ' : ''}${r.detail}`),
        })),
      ),
    });
  }
  sqlite.close();
  return out;
}

/** Median wall time of 15 runs (after 3 warm-up runs), in ms. */
async function medianMs(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return round(times[7]!, 2);
}

async function cannon(url: string, token: string, query: string) {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return {
    reqPerSec: round(result.requests.average, 0),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    total: result.requests.total,
  };
}

function printPlans(planned: Awaited<ReturnType<typeof plans>>): void {
  for (const p of planned) {
    console.log(p.name);
    for (const st of p.statements) {
      console.log(`  [${st.medianMs} ms] ${st.sql.slice(0, 150)}${st.sql.length > 150 ? '…' : ''}`);
      for (const line of st.plan) console.log(`    ${line}`);
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-bench-'));
  const path = join(dir, 'bench.db');
  try {
    populate(path);
    const planned = await plans(path);
    if (args['plans-only']) {
      printPlans(planned);
      return;
    }
    const server = await startIpcChild('bench/support/server-child.ts', {
      DATABASE_PATH: path,
      PORT: '0',
      EC2_BACKEND: 'aws',
      // Nothing listens there: the start-up reconciliation fails fast and changes nothing.
      AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      POLL_INTERVAL_MS: '600000',
      LOG_LEVEL: 'silent',
      METRICS: 'off',
    });
    const url = server.ready.url as string;
    const token = server.ready.token as string;
    const rows: { name: string; reqPerSec: number; p50: number; p99: number; errors: number; ratio: number; load: string }[] = [];
    try {
      await sleep(5000); // let the start-up reconciliation give up
      // Warm-up: JIT and SQLite page cache.
      for (const q of QUERIES) {
        await autocannon({
          url,
          method: 'POST',
          connections: 5,
          amount: 200,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: q.query }),
        });
      }
      let baseline = 0;
      for (const q of QUERIES) {
        if (args.only && !q.name.includes(args.only) && q.filter) continue;
        const profiling = args['cpu-prof'] === q.name;
        if (profiling) await server.request('profile-start');
        const r = await cannon(url, token, q.query);
        if (profiling) {
          mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
          const file = join(RESULTS_DIR, 'profiles', 'query-throughput.cpuprofile');
          await server.request('profile-stop', { file });
          console.error(`profile: ${file}`);
        }
        if (!q.filter) baseline = r.reqPerSec;
        rows.push({ name: q.name, ...r, ratio: round(r.reqPerSec / baseline, 3), load: load() });
        console.error(`done: ${q.name}: ${r.reqPerSec} req/s, p99 ${r.p99} ms (load ${load()})`);
      }
    } finally {
      await server.stop();
    }
    console.log(
      `\nQuery throughput over ${ROWS} AMIs (${CONNECTIONS} connections, ${SECONDS} s each, server in its own process)\n`,
    );
    console.log(
      table(
        ['query', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio to { __typename }', 'load avg'],
        rows.map((r) => [r.name, r.reqPerSec, r.p50, r.p99, r.errors, `${round(r.ratio * 100, 1)}%`, r.load]),
      ),
    );
    console.log('\nEXPLAIN QUERY PLAN of the SQL listAmis sends (owner = the viewer):\n');
    printPlans(planned);
    console.log(
      `\nresults: ${saveResult('query-throughput', { rows: ROWS, connections: CONNECTIONS, seconds: SECONDS, results: rows, plans: planned })}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
