// Data access for users and their API tokens (only sha256 hashes are stored).
import { and, asc, eq, isNull, like } from 'drizzle-orm';
import type { Db } from './client.js';
import { apiTokens, users } from './schema.js';

export interface TokenRow {
  id: string;
  user: string;
  admin: boolean;
  createdAt: number;
  revokedAt: number | null;
}

const TOKEN_COLUMNS = {
  id: apiTokens.id,
  user: apiTokens.user,
  admin: apiTokens.admin,
  createdAt: apiTokens.createdAt,
  revokedAt: apiTokens.revokedAt,
};

export function insertToken(
  db: Db,
  row: { id: string; user: string; admin: boolean; tokenHash: string; createdAt: number },
): void {
  db.transaction((tx) => {
    tx.insert(users).values({ name: row.user, createdAt: row.createdAt }).onConflictDoNothing().run();
    tx.insert(apiTokens).values(row).run();
  });
}

/** The user an active (not revoked) token hash belongs to, and whether the token is an admin's. */
export function userOfTokenHash(db: Db, tokenHash: string): { user: string; admin: boolean } | undefined {
  return db
    .select({ user: apiTokens.user, admin: apiTokens.admin })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
    .get();
}

export function listTokens(db: Db): TokenRow[] {
  return db.select(TOKEN_COLUMNS).from(apiTokens).orderBy(asc(apiTokens.createdAt)).all();
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
      .select(TOKEN_COLUMNS)
      .from(apiTokens)
      .where(and(like(apiTokens.id, `${idOrPrefix.replace(/[%_]/g, '')}%`), isNull(apiTokens.revokedAt)))
      .all();
    if (matches.length !== 1) return matches;
    tx.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, matches[0]!.id)).run();
    return [{ ...matches[0]!, revokedAt: at }];
  });
}
