// Responsible for who is asking: API tokens (random, shown once, stored only as sha256 hashes),
// the bearer header on every transport, and the local token that keeps the quick start to one
// command (created on first start and written next to the database, as Jupyter does).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from '../db/store.js';
import { countActiveTokens, insertToken, listTokens, revokeTokens, userOfTokenHash, type TokenRow } from '../db/tokens.js';
import { ValidationError } from './errors.js';
import { LOCAL_USER, type RequestSnapshot, type Viewer } from './viewer.js';

export const TOKEN_PREFIX = 'pam_';
const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `Bearer <token>` → the token, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: { db: Store; now: () => number }) {
  const { db } = deps;
  return {
    /** The viewer a bearer header stands for, or null (missing, unknown or revoked token). */
    async authenticate(authorization: string | null | undefined): Promise<Viewer | null> {
      return (await this.authenticateRequest(authorization))?.viewer ?? null;
    },

    /** The same for one HTTP request, with what it read beside the credentials (RequestSnapshot). */
    async authenticateRequest(
      authorization: string | null | undefined,
    ): Promise<{ viewer: Viewer; snapshot: RequestSnapshot } | null> {
      const token = bearerToken(authorization);
      if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
      const owner = await userOfTokenHash(db, hashToken(token));
      if (!owner) return null;
      return { viewer: { user: owner.user, admin: owner.admin }, snapshot: { amiGeneration: owner.amiGeneration } };
    },

    /** A new token for `user`; the token itself is returned once and never stored. */
    async createToken(
      user: string,
      options: { admin?: boolean } = {},
    ): Promise<{ id: string; user: string; admin: boolean; token: string }> {
      if (!USER_PATTERN.test(user)) {
        throw new ValidationError([
          { path: 'user', message: 'must be 1–64 characters: letters, digits and . _ @ - (starting with a letter or digit)' },
        ]);
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const id = randomUUID().slice(0, 8);
      const admin = options.admin ?? false;
      await insertToken(db, { id, user, admin, tokenHash: hashToken(token), createdAt: deps.now() });
      return { id, user, admin, token };
    },

    list(): Promise<TokenRow[]> {
      return listTokens(db);
    },

    async revoke(idOrPrefix: string): Promise<TokenRow> {
      const matches = await revokeTokens(db, idOrPrefix, deps.now());
      if (matches.length === 1) return matches[0]!;
      throw new ValidationError([
        {
          path: 'id',
          message: matches.length
            ? `"${idOrPrefix}" matches ${matches.length} tokens (${matches.map((m) => m.id).join(', ')}); give more of the id`
            : `no active token with id "${idOrPrefix}"`,
        },
      ]);
    },

    /**
     * On a server with no active token, create one for the local user and write it to `path`
     * (mode 0600). Returns the local token when the file holds a valid one, so the start-up log
     * can print a sign-in URL; undefined when tokens exist but the file does not.
     */
    async ensureLocalToken(path: string): Promise<{ token: string; created: boolean } | undefined> {
      if (existsSync(path)) {
        const token = readFileSync(path, 'utf8').trim();
        if (await this.authenticate(`Bearer ${token}`)) return { token, created: false };
      }
      if ((await countActiveTokens(db)) > 0) return undefined;
      const { token } = await this.createToken(LOCAL_USER);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${token}\n`, { mode: 0o600 });
      chmodSync(path, 0o600);
      return { token, created: true };
    },
  };
}
