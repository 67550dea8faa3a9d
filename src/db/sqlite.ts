// Responsible for the SQLite store: opening the file with the settings a long-running server
// needs, bringing its schema up to date, and transactions for async callers.
//
// better-sqlite3 is synchronous and has one connection, so a transaction whose body awaits must
// keep every other writer out until it ends: transactions run one after another (a promise
// chain), and every write goes through one. Reads from elsewhere may run between the statements
// of an open transaction and see its writes; nothing rolls back except on an error.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.js';
import { errorCode, shippedMigrations, tables, type Store } from './store.js';

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle/sqlite');

/**
 * Written out rather than with the schema's columns: drizzle prints a single-table select's columns
 * unqualified, which would turn the correlation into `ami_id = ami_id` inside the subquery.
 */
const TAGS_OF_AMI = sql.raw(
  `(select json_group_array(json_object('key', t.key, 'value', t.value) order by t.key) from ami_tags t where t.ami_id = amis.ami_id)`,
);

export interface SqliteStore extends Store {
  readonly dialect: 'sqlite';
  /** The connection itself, for statement timing in metrics. */
  readonly sqlite: Database.Database;
}

export function openSqliteStore(path: string): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  // WAL lets readers (queries, subscriptions) proceed while the tracker writes; the busy timeout
  // covers the CLI's token commands touching the same file; foreign keys are off by default.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const orm = drizzle(sqlite, { schema });
  migrate(orm, { migrationsFolder: MIGRATIONS });
  reuseStatements(sqlite);

  let queue: Promise<unknown> = Promise.resolve();
  const identity = {};
  const inside: SqliteStore = { ...common(), transaction: (fn) => fn(inside) };
  const store: SqliteStore = {
    ...common(),
    transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
      const run = async (): Promise<T> => {
        sqlite.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(inside);
          sqlite.exec('COMMIT');
          return result;
        } catch (err) {
          if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
          throw err;
        }
      };
      const next = queue.then(run);
      queue = next.catch(() => undefined);
      return next;
    },
  };
  return store;

  function common(): Omit<SqliteStore, 'transaction'> {
    return {
      dialect: 'sqlite',
      location: path,
      identity,
      orm,
      t: tables,
      sqlite,
      isUniqueViolation: (err) => /SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)/.test(errorCode(err) ?? ''),
      matchesPattern: (column: SQLiteColumn, pattern: string | SQLWrapper): SQL => sql`${column} LIKE ${pattern} ESCAPE '\\'`,
      tagsOfAmi: TAGS_OF_AMI,
      ping: () => {
        if (!sqlite.open) return Promise.reject(new Error('the database is closed'));
        sqlite.prepare('select 1').get();
        return Promise.resolve();
      },
      migrations: () =>
        sqlite.open ? Promise.resolve(migrationState(sqlite)) : Promise.reject(new Error('the database is closed')),
      close: () => {
        if (sqlite.open) sqlite.close();
        return Promise.resolve();
      },
    };
  }
}

/** Statements kept per SQL text; past this many distinct texts the cache starts over. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * drizzle prepares a new statement for every query it runs, and compiling SQL was ~5% of a list
 * page's CPU (bench/README.md §12). The server sends a few dozen distinct texts (values are bound
 * parameters), so each is compiled once. drizzle runs a statement as soon as it prepares it
 * (better-sqlite3 is synchronous), so one statement object is never in use twice at once; raw mode
 * is reset on reuse because drizzle switches it on for some reads and expects objects for others.
 */
function reuseStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      cache.set(source, stmt);
    } else if (stmt.reader) {
      stmt.raw(false);
    }
    return stmt;
  }) as typeof sqlite.prepare;
}

function migrationState(sqlite: Database.Database): { expected: number; applied: number } {
  const row = sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number } | undefined;
  return { expected: shippedMigrations(MIGRATIONS), applied: row?.n ?? 0 };
}
