// Responsible for the per-user connection and subscription caps and the server-wide connection
// ceiling across replicas (DESIGN §9), behind the same ConnectionLimiter interface as the
// in-process count. Each cap is a sorted set of leases (`<replicaId>:<leaseId>`, scored by when
// the lease expires); one Lua script drops expired leases, checks the cap and adds, atomically.
// A replica refreshes its live leases every ttl/3, so a replica killed outright leaks its slots
// for one ttl at most. Refusals read exactly as the in-process ones.
import { randomUUID } from 'node:crypto';
import type { Result } from 'ioredis';
import type { Logger } from 'pino';
import {
  refusalMessage,
  type ConnectionCaps,
  type ConnectionLimiter,
  type Lease,
  type LimitCounts,
  type LimitKind,
  type LimitName,
  type LimitRefusal,
} from '../services/connection-limits.js';
import type { RedisHandle } from './client.js';
import { once } from '../services/once.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    prismAcquireLease(
      userKey: string,
      allKey: string,
      member: string,
      ttlMs: number,
      userMax: number,
      allMax: number,
    ): Result<number, Context>;
    prismRefreshLeases(...keysThenTtlAndMembers: (string | number)[]): Result<number, Context>;
  }
}

// KEYS user set, server-wide set; ARGV member, ttl ms, user cap, server-wide cap (-1: not counted
// there). Answers 0 (added), 1 (user cap reached), 2 (server-wide cap reached).
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local allMax = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if allMax >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= allMax then return 2 end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
if allMax >= 0 then
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 0
`;

// KEYS the sets; ARGV ttl ms, then the member to refresh in each key.
const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
`;

export interface RedisConnectionLimiterOptions {
  caps: ConnectionCaps;
  /** Prepended to every key, e.g. `prism-ami:`. */
  keyPrefix: string;
  /** This replica, unique among the live ones (e.g. hostname and pid); the leases' owner. */
  replicaId: string;
  logger: Logger;
  /** How long a lease outlives its last refresh (30 s); refreshed every third of it. */
  leaseTtlMs?: number;
  onRefusal?: (limit: LimitName) => void;
}

export interface RedisConnectionLimiter extends ConnectionLimiter {
  /** Refreshes every live lease of this replica now (the heartbeat's work). */
  heartbeat(): Promise<void>;
  /** Ends the heartbeat; live leases then expire after a ttl unless released. */
  stop(): Promise<void>;
}

interface LiveLease {
  kind: LimitKind;
  user: string;
  keys: string[];
}

const REFRESH_BATCH = 500;

export function createRedisConnectionLimiter(
  handle: RedisHandle,
  options: RedisConnectionLimiterOptions,
): RedisConnectionLimiter {
  const { redis } = handle;
  redis.defineCommand('prismAcquireLease', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('prismRefreshLeases', { lua: REFRESH });
  const ttlMs = options.leaseTtlMs ?? 30_000;
  const logger = options.logger.child({ component: 'redis-limits' });
  const live = new Map<string, LiveLease>();
  const acquire = acquirer(handle, options, ttlMs, live, logger);

  async function heartbeat(): Promise<void> {
    const pairs = [...live].flatMap(([member, lease]) => lease.keys.map((key) => [key, member] as const));
    for (let i = 0; i < pairs.length; i += REFRESH_BATCH) {
      const batch = pairs.slice(i, i + REFRESH_BATCH);
      await redis.prismRefreshLeases(batch.length, ...batch.map(([key]) => key), ttlMs, ...batch.map(([, member]) => member));
    }
  }
  const loop = heartbeatLoop(heartbeat, Math.max(10, Math.floor(ttlMs / 3)), logger);

  return {
    acquire,
    counts: () => localCounts(live),
    heartbeat,
    stop: () => loop.stop(),
  };
}

function acquirer(
  handle: RedisHandle,
  options: RedisConnectionLimiterOptions,
  ttlMs: number,
  live: Map<string, LiveLease>,
  logger: Logger,
): ConnectionLimiter['acquire'] {
  const { caps, keyPrefix: p } = options;
  const refusal = (limit: LimitName, max: number): LimitRefusal => {
    options.onRefusal?.(limit);
    return { ok: false, limit, max, message: refusalMessage(limit, max) };
  };
  return async (kind, user) => {
    const member = `${options.replicaId}:${randomUUID()}`;
    const userKey = `${p}${kind === 'connection' ? 'conn' : 'sub'}:user:${user}`;
    const allKey = `${p}conn:all`;
    const userMax = kind === 'connection' ? caps.maxConnectionsPerUser : caps.maxSubscriptionsPerUser;
    const allMax = kind === 'connection' ? caps.maxConnections : -1;
    let answer: number;
    try {
      answer = await handle.redis.prismAcquireLease(userKey, allKey, member, ttlMs, userMax, allMax);
    } catch (error) {
      logger.warn({ err: error, kind }, 'refused a slot: Redis did not answer the count');
      return refusal('REDIS_UNAVAILABLE', 0);
    }
    if (answer === 2) return refusal('MAX_CONNECTIONS', caps.maxConnections);
    if (answer === 1) {
      return kind === 'connection'
        ? refusal('MAX_CONNECTIONS_PER_USER', caps.maxConnectionsPerUser)
        : refusal('MAX_SUBSCRIPTIONS_PER_USER', caps.maxSubscriptionsPerUser);
    }
    const keys = allMax >= 0 ? [userKey, allKey] : [userKey];
    live.set(member, { kind, user, keys });
    return lease(() => {
      live.delete(member);
      // A release that does not reach Redis costs a slot for one ttl, no more.
      Promise.all(keys.map((key) => handle.redis.zrem(key, member))).catch((error: unknown) =>
        logger.warn({ err: error, kind }, 'could not release a slot in Redis; it expires on its own'),
      );
    });
  };
}

function lease(release: () => void): Lease {
  return { ok: true, release: once(release) };
}

function localCounts(live: Map<string, LiveLease>): LimitCounts {
  const users = new Set<string>();
  let connections = 0;
  let subscriptions = 0;
  for (const { kind, user } of live.values()) {
    users.add(user);
    if (kind === 'connection') connections += 1;
    else subscriptions += 1;
  }
  return { connections, subscriptions, users: users.size };
}

/** A setTimeout chain: a failed run is logged and the next one comes on time; stop() awaits a run under way. */
function heartbeatLoop(run: () => Promise<void>, everyMs: number, logger: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    timer = setTimeout(() => {
      running = run()
        .catch((error: unknown) => logger.warn({ err: error }, 'could not refresh the slots in Redis'))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, everyMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
