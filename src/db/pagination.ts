// Keyset pagination over (created_at DESC, id DESC): stable while rows are added, and an index seek
// instead of OFFSET scans. Cursors are opaque to clients.

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
  totalCount: () => number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
