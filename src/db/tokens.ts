// Data access for users and their API tokens (only sha256 hashes are stored).
import { and, asc, count, eq, isNull, like, sql } from 'drizzle-orm';
import { amiGenerationColumn } from './amis.js';
import { first, prepared, type Store } from './store.js';

export interface TokenRow {
  id: string;
  user: string;
  admin: boolean;
  createdAt: number;
  revokedAt: number | null;
}

function tokenColumns(store: Store) {
  const { apiTokens } = store.t;
  return {
    id: apiTokens.id,
    user: apiTokens.user,
    admin: apiTokens.admin,
    createdAt: apiTokens.createdAt,
    revokedAt: apiTokens.revokedAt,
  };
}

export async function insertToken(
  store: Store,
  row: { id: string; user: string; admin: boolean; tokenHash: string; createdAt: number },
): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.orm.insert(tx.t.users).values({ name: row.user, createdAt: row.createdAt }).onConflictDoNothing();
    await tx.orm.insert(tx.t.apiTokens).values(row);
  });
}

/**
 * The user an active (not revoked) token hash belongs to, whether the token is an admin's, and the
 * AMI list's generation at this moment ('' before the first write; amis.ts).
 */
export async function userOfTokenHash(
  store: Store,
  tokenHash: string,
): Promise<{ user: string; admin: boolean; amiGeneration: string } | undefined> {
  // Every request authenticates (bearer token): prepared once, like the list pages.
  const query = prepared(store, 'user of token hash', () => {
    const { apiTokens } = store.t;
    return store.orm
      .select({ user: apiTokens.user, admin: apiTokens.admin, amiGeneration: amiGenerationColumn(store) })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, sql.placeholder('tokenHash')), isNull(apiTokens.revokedAt)))
      .limit(1)
      .prepare();
  });
  const row = first(await query.execute({ tokenHash }));
  return row && { user: row.user, admin: row.admin, amiGeneration: row.amiGeneration ?? '' };
}

export async function listTokens(store: Store): Promise<TokenRow[]> {
  return store.orm.select(tokenColumns(store)).from(store.t.apiTokens).orderBy(asc(store.t.apiTokens.createdAt));
}

export async function countActiveTokens(store: Store): Promise<number> {
  const { apiTokens } = store.t;
  return first(await store.orm.select({ n: count() }).from(apiTokens).where(isNull(apiTokens.revokedAt)))?.n ?? 0;
}

/**
 * Revoke the one active token whose id starts with `idOrPrefix`. Returns the active matches:
 * exactly one means it was revoked; several means the prefix was ambiguous and nothing changed.
 */
export async function revokeTokens(store: Store, idOrPrefix: string, at: number): Promise<TokenRow[]> {
  return store.transaction(async (tx) => {
    const { apiTokens } = tx.t;
    const matches = await tx.orm
      .select(tokenColumns(tx))
      .from(apiTokens)
      .where(and(like(apiTokens.id, `${idOrPrefix.replace(/[%_]/g, '')}%`), isNull(apiTokens.revokedAt)));
    if (matches.length !== 1) return matches;
    await tx.orm.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, matches[0]!.id));
    return [{ ...matches[0]!, revokedAt: at }];
  });
}
