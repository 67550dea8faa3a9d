// Responsible for the per-token mutation rate limit across replicas (DESIGN §9): the same token
// bucket as src/services/rate-limit.ts (a burst, then a steady rate), kept in Redis and changed by
// one Lua script, so that concurrent requests on different replicas draw from one bucket. Time is
// Redis's (TIME), not the replicas' clocks; an idle bucket expires once it would be full again.
import type { Result } from 'ioredis';
import {
  RateLimiterUnavailableError,
  type RateDecision,
  type RateLimiter,
  type RateLimitOptions,
} from '../services/rate-limit.js';
import type { RedisHandle } from './client.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    prismTakeToken(key: string, burst: number, perMinute: number): Result<[number, number], Context>;
  }
}

// KEYS[1] the bucket; ARGV burst, perMinute. Answers {1, 0} (taken) or {0, seconds until a token}.
const TAKE_TOKEN = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ok = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
else
  retry = math.ceil((1 - tokens) / rate / 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {ok, retry}
`;

export interface RedisRateLimiterOptions extends RateLimitOptions {
  /** Prepended to every key, e.g. `prism-ami:`; the buckets are `${keyPrefix}rl:${key}`. */
  keyPrefix: string;
}

export function createRedisRateLimiter(handle: RedisHandle, options: RedisRateLimiterOptions): RateLimiter {
  const { redis } = handle;
  redis.defineCommand('prismTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  return {
    async take(key): Promise<RateDecision> {
      if (options.perMinute <= 0) return { ok: true };
      let answer: [number, number];
      try {
        answer = await redis.prismTakeToken(`${options.keyPrefix}rl:${key}`, options.burst, options.perMinute);
      } catch (error) {
        throw new RateLimiterUnavailableError(`Redis (${handle.target}) did not answer the rate limit check`, { cause: error });
      }
      const [ok, retryAfterSeconds] = answer;
      return ok === 1 ? { ok: true } : { ok: false, retryAfterSeconds };
    },
  };
}
