// Responsible for the one async interface every data-access function goes through, whichever
// engine stands behind it: SQLite (the embedded default, DATABASE_PATH) or PostgreSQL
// (DATABASE_URL). What differs between the two (opening, migrations, transactions, error codes,
// case-insensitive matching) is written once per engine in sqlite.ts and postgres.ts; no data
// access is written twice.
//
// The query builder is typed by the SQLite schema. At run time a PostgreSQL store hands out
// drizzle's pg database and the tables of schema-pg.ts, whose builders have the same API for
// everything data access uses (select/insert/update/delete, onConflict*, returning, awaited
// rather than .get()/.all()/.run()). The checks at the end of this file fail to compile if the
// two schemas ever stop reading and writing the same rows.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SQL, SQLWrapper } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type * as pgSchema from './schema-pg.js';
import * as sqliteSchema from './schema.js';

export type Orm = BetterSQLite3Database<typeof sqliteSchema>;

export const tables = {
  users: sqliteSchema.users,
  apiTokens: sqliteSchema.apiTokens,
  creations: sqliteSchema.creations,
  creationTags: sqliteSchema.creationTags,
  regionCopies: sqliteSchema.regionCopies,
  amis: sqliteSchema.amis,
  amiTags: sqliteSchema.amiTags,
  amiLaunchPermissions: sqliteSchema.amiLaunchPermissions,
  amiGeneration: sqliteSchema.amiGeneration,
};
export type Tables = typeof tables;

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly dialect: Dialect;
  /** Where the data lives, for logs and messages (a path, or a URL without its password). */
  readonly location: string;
  /** The same object for a store and its transactions: a key for what is kept per database. */
  readonly identity: object;
  readonly orm: Orm;
  readonly t: Tables;
  /** Runs `fn` in one transaction (every write goes through here); a nested call joins the outer one. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  /** Whether the error is a unique constraint refusing a row (an idempotency key raced, say). */
  isUniqueViolation(err: unknown): boolean;
  /**
   * `column` matches a LIKE pattern (made by `likePattern`, or a placeholder bound to one), ignoring
   * ASCII case, with `\\` escaping.
   */
  matchesPattern(column: SQLiteColumn, pattern: string | SQLWrapper): SQL;
  /**
   * In a query over `amis`: the tags of the current row, as a JSON array of { key, value } objects
   * ordered by key (JSON text on SQLite, parsed by the driver on PostgreSQL; amis.ts `withParsedTags` reads both).
   */
  readonly tagsOfAmi: SQL;
  /** One round trip; rejects when the engine does not answer. */
  ping(): Promise<void>;
  /** Migrations the code ships and how many the database has applied. */
  migrations(): Promise<{ expected: number; applied: number }>;
  close(): Promise<void>;
}

export interface StoreLocation {
  /** postgres://… selects PostgreSQL; otherwise SQLite at `databasePath`. */
  databaseUrl?: string | undefined;
  databasePath: string;
}

export async function openStore(where: StoreLocation): Promise<Store> {
  if (where.databaseUrl) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(where.databaseUrl);
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(where.databasePath);
}

/** A database URL without its user and password, for messages and logs: host:port/database. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'a malformed URL';
  }
}

/** The engine's error code (SQLITE_CONSTRAINT_UNIQUE, 23505, …) of an error or of one it wraps (drizzle wraps them). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

const shipped = new Map<string, number>();

/** How many migrations a drizzle migrations folder ships (its journal's entries), read once. */
export function shippedMigrations(folder: string): number {
  let n = shipped.get(folder);
  if (n === undefined) {
    n = (JSON.parse(readFileSync(resolve(folder, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;
    shipped.set(folder, n);
  }
  return n;
}

export interface Prepared<T> {
  execute(values: Record<string, unknown>): PromiseLike<T>;
}

/** Prepared queries per connection (a PostgreSQL transaction has an orm of its own). */
const preparedQueries = new WeakMap<object, Map<string, Prepared<unknown>>>();
/** Past this many queries (list shapes: several tags, cursors, filters) a connection's cache starts over. */
const PREPARED_LIMIT = 300;

/**
 * The query `build` makes (drizzle's `.prepare()`, values as `sql.placeholder`), built once per
 * connection and `key`: building a query's text through drizzle was ~12% of a list request's CPU
 * (bench/README.md §12). On PostgreSQL drizzle sends it unnamed, so each execution is still
 * planned for its own values.
 */
export function prepared<T>(store: Store, key: string, build: () => Prepared<T>): Prepared<T> {
  let cache = preparedQueries.get(store.orm);
  if (!cache) preparedQueries.set(store.orm, (cache = new Map<string, Prepared<unknown>>()));
  let query = cache.get(key) as Prepared<T> | undefined;
  if (!query) {
    query = build();
    if (cache.size >= PREPARED_LIMIT) cache.clear();
    cache.set(key, query);
  }
  return query;
}

/** The first row of a result, or undefined (what SQLite's `.get()` gives, on both engines). */
export function first<T>(rows: T[]): T | undefined {
  return rows[0];
}

/** `%` and `_` in a plain substring must not act as wildcards (the LIKE patterns escape with `\`). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Rows<T extends Record<string, { $inferSelect: unknown; $inferInsert: unknown }>> = {
  [K in keyof T]: [T[K]['$inferSelect'], T[K]['$inferInsert']];
};
type PgTables = Pick<typeof pgSchema, keyof Tables>;
const sameRows: Same<Rows<PgTables>, Rows<Tables>> = true;
void sameRows;
