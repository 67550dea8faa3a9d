// Benchmark 4: `userAmis(first: 50)` with filters over 100,000 AMIs, with autocannon
// (50 connections), as a ratio to yoga's `{ __typename }` on the same server, measured just before
// and just after each query (measure() says why), on
// SQLite (DATABASE_PATH) and on PostgreSQL (DATABASE_URL: a database of its own, dropped at the
// end) with the same population and the same queries. With both stores, both servers run at once
// and each query is measured on one then the other, so the two columns share the machine's load.
// The query plans of the SQL the service really sends (captured from drizzle's logger while
// calling src/db/amis.ts listAmis) are printed (EXPLAIN QUERY PLAN; EXPLAIN on PostgreSQL).
//
//   npx tsx bench/query-throughput.ts [--store sqlite|postgres|both] [--rows 100000] [--seconds 8] [--connections 50]
//     [--writes-per-second N]   (AMI writes while measuring, through a store of its own: pages miss after each)
//   (PostgreSQL: BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres, the
//   maintenance database where the benchmark's own database is created and dropped)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { listAmis, updateAmi, type AmiListFilter } from '../src/db/amis.js';
import { openPostgresStore } from '../src/db/postgres.js';
import * as pgSchema from '../src/db/schema-pg.js';
import { openSqliteStore } from '../src/db/sqlite.js';
import * as schema from '../src/db/schema.js';
import { amis, amiTags, users } from '../src/db/schema.js';
import type { Orm, Store } from '../src/db/store.js';
import { runOn } from '../test/support/postgres.js';
import { createBenchDatabase } from './support/cluster.js';
import { load, RESULTS_DIR, round, saveResult, sleep, startIpcChild, table } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    /** AMI writes per second while measuring (startWriter): 0 measures pages that nothing invalidates. */
    'writes-per-second': { type: 'string', default: '0' },
    only: { type: 'string' },
    store: { type: 'string', default: 'both' },
    'plans-only': { type: 'boolean', default: false },
    /** Profile the server (inspector, measured run only) while this query runs, e.g. --cpu-prof "userAmis(first: 50)". */
    'cpu-prof': { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const WRITES_PER_SECOND = Number(args['writes-per-second']);
const STORES: StoreKind[] =
  args.store === 'both' ? ['sqlite', 'postgres'] : args.store === 'sqlite' || args.store === 'postgres' ? [args.store] : [];
if (STORES.length === 0) throw new Error(`--store must be sqlite, postgres or both (got ${args.store})`);
const OWNER = 'bench';
type StoreKind = 'sqlite' | 'postgres';
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

const amiIdOf = (i: number) => `ami-${i.toString(16).padStart(17, '0')}`;

/** The population, in batches of 500 AMIs with their tags: the same rows for both stores. */
function* batches(): Generator<{ rows: (typeof amis.$inferInsert)[]; tags: (typeof amiTags.$inferInsert)[] }> {
  const rand = rng(42);
  const now = Date.now();
  let rowsBatch: (typeof amis.$inferInsert)[] = [];
  let tagsBatch: (typeof amiTags.$inferInsert)[] = [];
  for (let i = 0; i < ROWS; i++) {
    const amiId = amiIdOf(i);
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
    if (rowsBatch.length === 500) {
      yield { rows: rowsBatch, tags: tagsBatch };
      rowsBatch = [];
      tagsBatch = [];
    }
  }
  if (rowsBatch.length) yield { rows: rowsBatch, tags: tagsBatch };
}

function populateSqlite(path: string): void {
  const t0 = performance.now();
  // Written with SQLite's synchronous builders: a fast bulk load, not the server's data access.
  const handle = openSqliteStore(path);
  const db = handle.orm;
  db.insert(users)
    .values([{ name: OWNER }, { name: 'someone-else' }])
    .onConflictDoNothing()
    .run();
  db.transaction((tx: typeof db) => {
    for (const b of batches()) {
      tx.insert(amis).values(b.rows).run();
      tx.insert(amiTags).values(b.tags).run();
    }
  });
  // No ANALYZE: the server never runs it, so the planner sees what production sees.
  handle.sqlite.close();
  console.error(`sqlite: populated ${ROWS} AMIs (${ROWS * 2} tags) in ${round((performance.now() - t0) / 1000, 1)} s`);
}

/** Through the PostgreSQL store (migrated by openPostgresStore): 10 batches of 500 per transaction. */
async function populatePostgres(url: string): Promise<void> {
  const t0 = performance.now();
  const store = await openPostgresStore(url);
  try {
    await store.orm
      .insert(store.t.users)
      .values([{ name: OWNER }, { name: 'someone-else' }])
      .onConflictDoNothing();
    let group: ReturnType<typeof batches> extends Generator<infer B> ? B[] : never = [];
    const flush = async () => {
      const todo = group;
      group = [];
      await store.transaction(async (tx) => {
        for (const b of todo) {
          await tx.orm.insert(tx.t.amis).values(b.rows);
          await tx.orm.insert(tx.t.amiTags).values(b.tags);
        }
      });
    };
    for (const b of batches()) {
      group.push(b);
      if (group.length === 10) await flush();
    }
    await flush();
  } finally {
    await store.close();
  }
  // No ANALYZE here: the server runs it after its migrations when it starts (src/db/postgres.ts),
  // as it would on a restored or bulk-loaded production database.
  console.error(`postgres: populated ${ROWS} AMIs (${ROWS * 2} tags) in ${round((performance.now() - t0) / 1000, 1)} s`);
}

/** ANALYZE the PostgreSQL database again after the run, then time listAmis again (a check that the server's own ANALYZE sufficed). */
async function analyzeWhatIf(url: string, before: Awaited<ReturnType<typeof plansPostgres>>) {
  await runOn(url, 'ANALYZE');
  const after = await plansPostgres(url);
  console.log('\npostgres listAmis median (in-process): as measured → after another ANALYZE');
  for (const [i, p] of before.entries()) console.log(`  ${p.name}  →  ${after[i]!.name.split(': ').pop()}`);
  console.log('\nEXPLAIN after ANALYZE:\n');
  printPlans(after);
  return after;
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

/** The same for PostgreSQL: the SQL listAmis sends through the pg store, and EXPLAIN's plan. */
async function plansPostgres(
  url: string,
): Promise<{ name: string; statements: { sql: string; plan: string[]; medianMs: number }[] }[]> {
  const store = await openPostgresStore(url);
  const out: { name: string; statements: { sql: string; plan: string[]; medianMs: number }[] }[] = [];
  try {
    for (const q of QUERIES) {
      if (!q.filter) continue;
      const captured: { sql: string; params: unknown[] }[] = [];
      const orm = drizzlePg(store.pool, {
        schema: pgSchema,
        logger: { logQuery: (sql, params) => captured.push({ sql, params }) },
      }) as unknown as Orm;
      const logged: Store = { ...store, orm };
      await listAmis(logged, { owner: OWNER, filter: q.filter, first: 50 });
      const ms = await medianMs(() => listAmis(store, { owner: OWNER, filter: q.filter, first: 50 }));
      const statements = [];
      for (const { sql, params } of captured) {
        const plan = await store.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
        statements.push({
          sql,
          medianMs: await medianMs(() => store.pool.query(sql, params)),
          plan: plan.rows.map((r) => r['QUERY PLAN']),
        });
      }
      out.push({ name: `${q.name}: listAmis ${ms} ms (median, in-process)`, statements });
    }
  } finally {
    await store.close();
  }
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
      for (const line of st.plan) console.log(`    ${line.length > 160 ? `${line.slice(0, 160)}…` : line}`);
    }
  }
}

interface Measured {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  total: number;
  ratio: number;
  /** The `{ __typename }` req/s the ratio is to: the mean of the runs just before and after. */
  baseline: number;
  load: string;
}

type Servers = Partial<Record<StoreKind, Awaited<ReturnType<typeof startIpcChild>>>>;
type Row = { name: string; results: Partial<Record<StoreKind, Measured>> };

/**
 * Each query on each store in turn (one store right after the other, so they share the load), with
 * `{ __typename }` measured before the first query and again after each one: a query's ratio is to
 * the mean of the baselines just before and just after it. The baseline alone moves ±20% from one
 * run to the next on this machine (bench/README.md §12), more than the effects being measured.
 */
async function measure(servers: Servers): Promise<Row[]> {
  await sleep(5000); // let the start-up reconciliation give up
  await warmUp(servers);
  const [base, ...rest] = QUERIES;
  const queries = rest.filter((q) => !args.only || q.name.includes(args.only));
  const baselines: Measured[][] = [await onEachStore(servers, base!)];
  const rows: Row[] = [];
  for (const q of queries) {
    const measured = await onEachStore(servers, q);
    baselines.push(await onEachStore(servers, base!));
    const [before, after] = baselines.slice(-2) as [Measured[], Measured[]];
    const row: Row = { name: q.name, results: {} };
    STORES.forEach((kind, i) => {
      const baseline = (before[i]!.reqPerSec + after[i]!.reqPerSec) / 2;
      row.results[kind] = { ...measured[i]!, ratio: round(measured[i]!.reqPerSec / baseline, 3), baseline: round(baseline) };
    });
    rows.push(row);
  }
  const first: Row = { name: base!.name, results: {} };
  STORES.forEach((kind, i) => {
    const runs = baselines.map((b) => b[i]!);
    const mean = round(runs.reduce((sum, r) => sum + r.reqPerSec, 0) / runs.length);
    first.results[kind] = { ...runs[0]!, reqPerSec: mean, ratio: 1, baseline: mean };
  });
  return [first, ...rows];
}

/** JIT, SQLite's page cache, PostgreSQL's shared buffers. */
async function warmUp(servers: Servers): Promise<void> {
  for (const kind of STORES) {
    const server = servers[kind]!;
    for (const q of QUERIES) {
      await autocannon({
        url: server.ready.url as string,
        method: 'POST',
        connections: 5,
        amount: 200,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.ready.token as string}` },
        body: JSON.stringify({ query: q.query }),
      });
    }
  }
}

/** One query on each store, one after the other (profiled with --cpu-prof when it is the one named). */
async function onEachStore(servers: Servers, q: (typeof QUERIES)[number]): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const kind of STORES) {
    const server = servers[kind]!;
    const profiling = args['cpu-prof'] === q.name;
    if (profiling) await server.request('profile-start');
    const r = await cannon(server.ready.url as string, server.ready.token as string, q.query);
    if (profiling) {
      mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
      const file = join(RESULTS_DIR, 'profiles', `query-throughput-${kind}.cpuprofile`);
      await server.request('profile-stop', { file });
      console.error(`profile: ${file}`);
    }
    out.push({ ...r, ratio: 0, baseline: 0, load: load() });
    console.error(`done: ${kind}: ${q.name}: ${r.reqPerSec} req/s, p99 ${r.p99} ms (load ${load()})`);
  }
  return out;
}

/**
 * With --writes-per-second: renames AMIs through stores of the bench's own on the measured
 * databases, as a tracker on another replica would. Each write starts a new generation
 * (src/db/amis.ts), so the next request of every query executes its page again.
 */
async function startWriter(where: { path?: string; url?: string }): Promise<{ stop(): Promise<number> }> {
  if (!WRITES_PER_SECOND) return { stop: () => Promise.resolve(0) };
  const stores: Store[] = [];
  if (where.path) stores.push(openSqliteStore(where.path));
  if (where.url) stores.push(await openPostgresStore(where.url));
  let written = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const n = written++;
    pending = Promise.all([pending, ...stores.map((s) => updateAmi(s, amiIdOf(n % ROWS), { name: `renamed-${n}` }))]);
  }, 1000 / WRITES_PER_SECOND);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      for (const s of stores) await s.close();
      return written;
    },
  };
}

function report(rows: Row[]): void {
  console.log(
    `\nQuery throughput over ${ROWS} AMIs (${CONNECTIONS} connections, ${SECONDS} s each, servers in their own processes)\n`,
  );
  const headers = ['query'];
  for (const kind of STORES) {
    headers.push(`${kind} req/s`, `${kind} p50 ms`, `${kind} p99 ms`, `${kind} baseline req/s`, `${kind} ratio`);
  }
  if (STORES.length === 2) headers.push('postgres ÷ sqlite');
  headers.push('errors', 'load avg');
  console.log(
    table(
      headers,
      rows.map((r) => {
        const cells: (string | number)[] = [r.name];
        for (const kind of STORES) {
          const m = r.results[kind]!;
          cells.push(m.reqPerSec, m.p50, m.p99, m.baseline, `${round(m.ratio * 100, 1)}%`);
        }
        if (STORES.length === 2) cells.push(`${round(r.results.postgres!.reqPerSec / r.results.sqlite!.reqPerSec, 2)}×`);
        cells.push(STORES.map((k) => r.results[k]!.errors).join(' / '), r.results[STORES[STORES.length - 1]!]!.load);
        return cells;
      }),
    ),
  );
}

/** When autovacuum last analyzed the two tables (besides the server's ANALYZE at start). */
async function autoAnalyzed(url: string | undefined): Promise<{ relname: string; last_autoanalyze: Date | null }[]> {
  if (!url) return [];
  const client = new pg.Client({ connectionString: url, application_name: 'prism-ami bench' });
  await client.connect();
  try {
    const { rows } = await client.query<{ relname: string; last_autoanalyze: Date | null }>(
      `select relname, last_autoanalyze from pg_stat_user_tables where relname in ('amis', 'ami_tags') order by relname`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

function analyzed(rows: { relname: string; last_autoanalyze: Date | null }[]): string {
  if (rows.length === 0) return '';
  return `postgres: last autoanalyze ${rows.map((r) => `${r.relname} ${r.last_autoanalyze?.toISOString() ?? 'never'}`).join(', ')}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-bench-'));
  const path = join(dir, 'bench.db');
  let database: { url: string; drop(): Promise<void> } | undefined;
  const servers: Servers = {};
  try {
    const planned: Partial<Record<StoreKind, Awaited<ReturnType<typeof plans>>>> = {};
    if (STORES.includes('sqlite')) {
      populateSqlite(path);
      planned.sqlite = await plans(path);
    }
    if (STORES.includes('postgres')) {
      database = await createBenchDatabase();
      await populatePostgres(database.url);
      planned.postgres = await plansPostgres(database.url);
    }
    if (args['plans-only']) {
      for (const kind of STORES) {
        console.log(`\n${kind}:`);
        printPlans(planned[kind]!);
      }
      return;
    }
    const serverEnv = {
      PORT: '0',
      EC2_BACKEND: 'aws',
      // Nothing listens there: the start-up reconciliation fails fast and changes nothing.
      AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      POLL_INTERVAL_MS: '600000',
      LOG_LEVEL: 'silent',
      METRICS: 'off',
    };
    for (const kind of STORES) {
      servers[kind] = await startIpcChild(
        'bench/support/server-child.ts',
        kind === 'sqlite' ? { ...serverEnv, DATABASE_PATH: path } : { ...serverEnv, DATABASE_URL: database!.url },
      );
    }
    const writer = await startWriter({
      ...(STORES.includes('sqlite') ? { path } : {}),
      ...(database ? { url: database.url } : {}),
    });
    const rows = await measure(servers);
    const written = await writer.stop();
    if (written) console.log(`\n${written} AMI writes per store while measuring (${WRITES_PER_SECOND} per second)`);
    console.log(analyzed(await autoAnalyzed(database?.url)));
    report(rows);
    // What-if, after the measurement (the servers measured the unanalyzed database).
    const afterAnalyze = database ? await analyzeWhatIf(database.url, planned.postgres!) : undefined;
    for (const kind of STORES) {
      console.log(
        `\n${kind === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'} of the SQL listAmis sends on ${kind} (owner = the viewer):\n`,
      );
      printPlans(planned[kind]!);
    }
    console.log(
      `\nresults: ${saveResult('query-throughput', { rows: ROWS, connections: CONNECTIONS, seconds: SECONDS, stores: STORES, results: rows, plans: planned, postgresAfterAnalyze: afterAnalyze })}`,
    );
  } finally {
    for (const server of Object.values(servers)) await server.stop().catch(() => undefined);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
