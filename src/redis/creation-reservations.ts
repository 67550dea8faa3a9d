// Responsible for the places held by creations still being started, across replicas (DESIGN §9):
// a sorted set per user of `<replicaId>:<id>` scored by expiry, checked and added by one Lua script,
// so that parallel createAmi requests on different replicas count against one another. A place is
// given back once the creation row exists; one that is never given back (a replica killed while
// starting a creation) expires on its own.
import { randomUUID } from 'node:crypto';
import type { Result } from 'ioredis';
import type { Logger } from 'pino';
import type { CreationReservations, Hold } from '../services/creation-cap.js';
import { once } from '../services/once.js';
import { UnavailableError } from '../services/errors.js';
import type { RedisHandle } from './client.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    prismHoldPlace(key: string, member: string, room: number, ttlMs: number): Result<[number, number], Context>;
  }
}

// KEYS the user's set; ARGV member, room, ttl ms. Answers {1, held before} or {0, held}.
const HOLD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then return {0, held} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, held}
`;

export interface RedisCreationReservationsOptions {
  /** Prepended to every key, e.g. `prism-ami:`; the sets are `${keyPrefix}starting:user:<user>`. */
  keyPrefix: string;
  /** This replica, unique among the live ones; part of each place's name for the operator. */
  replicaId: string;
  logger: Logger;
  /** How long an unreleased place counts (60 s: longer than starting a creation takes). */
  ttlMs?: number;
}

export function createRedisCreationReservations(
  handle: RedisHandle,
  options: RedisCreationReservationsOptions,
): CreationReservations {
  const { redis } = handle;
  redis.defineCommand('prismHoldPlace', { numberOfKeys: 1, lua: HOLD });
  const ttlMs = options.ttlMs ?? 60_000;
  const logger = options.logger.child({ component: 'redis-reservations' });
  return {
    async hold(user, room): Promise<Hold> {
      const key = `${options.keyPrefix}starting:user:${user}`;
      const member = `${options.replicaId}:${randomUUID()}`;
      let answer: [number, number];
      try {
        answer = await redis.prismHoldPlace(key, member, room, ttlMs);
      } catch (error) {
        throw new UnavailableError(`Redis (${handle.target}) did not answer the active-creation count; try again shortly`, {
          cause: error,
        });
      }
      const [ok, held] = answer;
      if (ok !== 1) return { ok: false, held };
      return {
        ok: true,
        release: once(() => {
          redis
            .zrem(key, member)
            .catch((error: unknown) =>
              logger.warn({ err: error }, 'could not give back a creation place in Redis; it expires on its own'),
            );
        }),
      };
    },
  };
}
