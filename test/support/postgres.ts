// A database of its own for each test file on the local PostgreSQL (or TEST_POSTGRES_URL's), so
// files running side by side never see each other's rows or locks; dropped with FORCE, which
// ends whatever connection a failed test left open.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server's maintenance database: where test databases are created and dropped. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  drop(): Promise<void>;
}

/** Runs one statement on a database (the maintenance one unless told), on a connection of its own. */
export async function runOn(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'prism-ami tests' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh `<prefix>_<8 hex>` database on the server of `maintenanceUrl` (benchmarks pass their own). */
export async function createTestDatabase(options: { prefix?: string; maintenanceUrl?: string } = {}): Promise<TestDatabase> {
  const maintenance = options.maintenanceUrl ?? TEST_POSTGRES_URL;
  const name = `${options.prefix ?? 'prism_test'}_${randomBytes(4).toString('hex')}`;
  await runOn(maintenance, `CREATE DATABASE ${name}`);
  const url = new URL(maintenance);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => runOn(maintenance, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * The store the service and API suites run on: SQLite in memory, or (TEST_STORE=postgres, the
 * `postgres` vitest project) a fresh PostgreSQL database dropped when the suite is done with it.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

export async function testDatabaseEnv(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (TEST_STORE === 'sqlite') return { env: {}, drop: () => Promise.resolve() };
  const db = await createTestDatabase();
  return { env: { DATABASE_URL: db.url }, drop: () => db.drop() };
}

/** TEST_BUS=redis: apps under test share events, rate limits and caps through the local Redis, under a prefix of their own. */
export function testBusEnv(): Record<string, string> {
  if (process.env.TEST_BUS !== 'redis') return {};
  return {
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:`,
  };
}
