// Responsible for the PostgreSQL store (DATABASE_URL): a connection pool that fails fast instead
// of hanging while PostgreSQL is away and reconnects by itself when it is back, migrations applied
// once when replicas start together (under an advisory lock), and PostgreSQL's error codes.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { withAdvisoryLock } from './region-leases.js';
import * as pgSchema from './schema-pg.js';
import { describeUrl, errorCode, shippedMigrations, type Orm, type Store, type Tables } from './store.js';

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle/postgres');
/** The advisory lock replicas starting together take: the first migrates, the others then find nothing to do. */
const MIGRATION_LOCK = 'prism-ami migrations';

/** Written out for the reason given at sqlite.ts TAGS_OF_AMI. */
const TAGS_OF_AMI = sql.raw(
  `(select coalesce(json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key), '[]'::json) from ami_tags t where t.ami_id = amis.ami_id)`,
);

export interface PostgresStore extends Store {
  readonly dialect: 'postgres';
  readonly pool: pg.Pool;
}

export async function openPostgresStore(url: string, options: { onError?: (err: Error) => void } = {}): Promise<PostgresStore> {
  checkUrl(url);
  const where = describeUrl(url);
  try {
    await withAdvisoryLock(url, MIGRATION_LOCK, (client) => migrateAndAnalyze(client), { applicationName: 'prism-ami migrate' });
  } catch (err) {
    throw new Error(`DATABASE_URL: cannot use PostgreSQL at ${where} (${reason(err)}); start PostgreSQL or fix the URL`, {
      cause: err,
    });
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // While PostgreSQL is away a request gets an error in seconds, never a hang; the pool opens
    // new connections by itself once it is back.
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
    keepAlive: true,
    application_name: 'prism-ami',
  });
  // An idle connection that breaks (PostgreSQL restarted) emits here; unhandled it would end the process.
  pool.on('error', (err) => options.onError?.(err));
  const orm = drizzle(pool, { schema: pgSchema }) as unknown as Orm;
  const t = pgSchema as unknown as Tables;
  return storeOver(pool, orm, t, where);
}

function storeOver(pool: pg.Pool, orm: Orm, t: Tables, location: string): PostgresStore {
  const common = {
    dialect: 'postgres' as const,
    location,
    identity: {},
    t,
    pool,
    isUniqueViolation: (err: unknown) => errorCode(err) === '23505',
    matchesPattern: (column: SQLiteColumn, pattern: string | SQLWrapper): SQL => sql`${column} ILIKE ${pattern} ESCAPE '\\'`,
    tagsOfAmi: TAGS_OF_AMI,
    ping: async () => {
      await pool.query('select 1');
    },
    migrations: async () => {
      const { rows } = await pool.query<{ n: string }>('select count(*) as n from drizzle.__drizzle_migrations');
      return { expected: shippedMigrations(MIGRATIONS), applied: Number(rows[0]?.n ?? 0) };
    },
    close: () => pool.end(),
  };
  const inTransaction = (tx: Orm): PostgresStore => {
    const inside: PostgresStore = { ...common, orm: tx, transaction: (fn) => fn(inside) };
    return inside;
  };
  return {
    ...common,
    orm,
    transaction: (fn) => orm.transaction((tx) => fn(inTransaction(tx))),
  };
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a URL; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(
      `DATABASE_URL must start with postgres:// (got ${u.protocol}//); for SQLite leave it unset and set DATABASE_PATH`,
    );
  }
}

/**
 * Migrations, then fresh planner statistics. A page of userAmis reads ~50 rows by index when
 * PostgreSQL knows the tables' sizes, and scans every tag row when it does not (a restored dump, a
 * bulk load, or autovacuum off): bench/README §7 measured 32–104 ms without, 3.6–5.8 ms with.
 * Autovacuum keeps them fresh afterwards.
 */
async function migrateAndAnalyze(client: pg.Client): Promise<void> {
  await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
  await client.query('ANALYZE creations, creation_tags, region_copies, amis, ami_tags, ami_launch_permissions, api_tokens');
}

function reason(err: unknown): string {
  const e = err instanceof AggregateError && err.errors.length ? (err.errors[0] as unknown) : err;
  if (e instanceof Error) return (e as { code?: string }).code ? `${(e as { code?: string }).code}: ${e.message}` : e.message;
  return String(e);
}
