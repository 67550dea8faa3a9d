// Keyset pagination over (created_at DESC, id DESC): stable while rows are added, and an index seek
// instead of OFFSET scans. Cursors are opaque to clients.
import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

export interface Cursor {
  createdAt: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt}:${c.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Cursor | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) return undefined;
  const createdAt = Number(text.slice(0, i));
  const id = text.slice(i + 1);
  return Number.isFinite(createdAt) && id ? { createdAt, id } : undefined;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Counting reads every matching row: done only when a client asks for it. */
  totalCount: () => Promise<number>;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** The two columns a table is paged by: newest first, ties broken by id. */
export interface KeysetColumns {
  createdAt: SQLiteColumn;
  id: SQLiteColumn;
}

export interface Keyset {
  /** The conditions of the page: the filter, and for a later page "after the cursor". */
  where: SQL | undefined;
  orderBy: SQL[];
  /** Rows to read: one more than the page, to know whether another page follows. */
  limit: number;
  /** Whether a cursor was given (and understood): then there is a page before this one. */
  afterCursor: boolean;
}

export function keyset(columns: KeysetColumns, filter: SQL[], page: { first: number; after?: string | null }): Keyset {
  const cursor = page.after ? decodeCursor(page.after) : undefined;
  const conds = [...filter];
  if (cursor) conds.push(afterCursor(columns, cursor.createdAt, cursor.id));
  return {
    where: and(...conds),
    orderBy: newestFirst(columns),
    limit: page.first + 1,
    afterCursor: cursor !== undefined,
  };
}

/** Rows after a cursor in newest-first order; the two values may be placeholders of a prepared query. */
export function afterCursor(columns: KeysetColumns, createdAt: unknown, id: unknown): SQL {
  return or(lt(columns.createdAt, createdAt), and(eq(columns.createdAt, createdAt), lt(columns.id, id)))!;
}

export function newestFirst(columns: KeysetColumns): SQL[] {
  return [desc(columns.createdAt), desc(columns.id)];
}

/** The page of `rows` read with a keyset's limit. */
export async function pageOf<R, T>(
  rows: R[],
  first: number,
  ks: Keyset,
  load: (rows: R[]) => Promise<T[]>,
  totalCount: () => Promise<number>,
): Promise<Page<T>> {
  return {
    items: await load(rows.slice(0, first)),
    hasNextPage: rows.length > first,
    hasPreviousPage: ks.afterCursor,
    totalCount,
  };
}
