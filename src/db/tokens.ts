// Data access for users and their API tokens (only sha256 hashes are stored).
import { and, asc, eq, isNull, like } from 'drizzle-orm';
import type { Db } from './client.js';
import { apiTokens, users } from './schema.js';

export interface TokenRow {
  id: string;
  user: string;
  createdAt: number;
  revokedAt: number | null;
}

export function insertToken(db: Db, row: { id: string; user: string; tokenHash: string; createdAt: number }): void {
  db.transaction((tx) => {
    tx.insert(users).values({ name: row.user, createdAt: row.createdAt }).onConflictDoNothing().run();
    tx.insert(apiTokens).values(row).run();
  });
}

/** The user an active (not revoked) token hash belongs to. */
export function userOfTokenHash(db: Db, tokenHash: string): string | undefined {
  return db
    .select({ user: apiTokens.user })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
    .get()?.user;
}

export function listTokens(db: Db): TokenRow[] {
  return db
    .select({ id: apiTokens.id, user: apiTokens.user, createdAt: apiTokens.createdAt, revokedAt: apiTokens.revokedAt })
    .from(apiTokens)
    .orderBy(asc(apiTokens.createdAt))
    .all();
}

export function countActiveTokens(db: Db): number {
  return db.select({ id: apiTokens.id }).from(apiTokens).where(isNull(apiTokens.revokedAt)).all().length;
}

/**
 * Revoke the one active token whose id starts with `idOrPrefix`. Returns the active matches:
 * exactly one means it was revoked; several means the prefix was ambiguous and nothing changed.
 */
export function revokeTokens(db: Db, idOrPrefix: string, at: number): TokenRow[] {
  return db.transaction((tx) => {
    const matches = tx
      .select({ id: apiTokens.id, user: apiTokens.user, createdAt: apiTokens.createdAt, revokedAt: apiTokens.revokedAt })
      .from(apiTokens)
      .where(and(like(apiTokens.id, `${idOrPrefix.replace(/[%_]/g, '')}%`), isNull(apiTokens.revokedAt)))
      .all();
    if (matches.length !== 1) return matches;
    tx.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, matches[0]!.id)).run();
    return [{ ...matches[0]!, revokedAt: at }];
  });
}
