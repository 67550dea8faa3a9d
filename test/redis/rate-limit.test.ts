// The mutation rate limit across replicas through the real Redis: two handles draw from one
// bucket per key, say when the next token comes, keep keys apart, let idle buckets expire, and
// reject with RateLimiterUnavailableError (yoga's 503) when Redis cannot be reached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisHandle } from '../../src/redis/client.js';
import { createRedisRateLimiter } from '../../src/redis/rate-limit.js';
import { RateLimiterUnavailableError, type RateLimiter } from '../../src/services/rate-limit.js';
import { redisFixture } from '../support/redis.js';

const fixture = redisFixture();
let a: RedisHandle;
let b: RedisHandle;

beforeAll(async () => {
  [a, b] = await Promise.all([fixture.connect('replica-a'), fixture.connect('replica-b')]);
});
afterAll(() => fixture.cleanup());

function limiters(perMinute: number, burst: number): [RateLimiter, RateLimiter] {
  const options = { perMinute, burst, keyPrefix: fixture.prefix };
  return [createRedisRateLimiter(a, options), createRedisRateLimiter(b, options)];
}

describe('Redis rate limiter', () => {
  it('shares one burst between replicas, then says when the next token comes', async () => {
    const [onA, onB] = limiters(6, 3);
    expect(await onA.take('alice')).toEqual({ ok: true });
    expect(await onB.take('alice')).toEqual({ ok: true });
    expect(await onA.take('alice')).toEqual({ ok: true });
    // 6 per minute: a token every 10 s.
    const refused = await onB.take('alice');
    expect(refused).toMatchObject({ ok: false });
    const retry = refused.ok ? 0 : refused.retryAfterSeconds;
    expect(retry).toBeGreaterThanOrEqual(9);
    expect(retry).toBeLessThanOrEqual(10);
    expect(await onA.take('bob')).toEqual({ ok: true });
  });

  it('takes exactly the burst when many requests race on both replicas', async () => {
    const [onA, onB] = limiters(1, 5);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).take('racer')));
    expect(answers.filter((r) => r.ok)).toHaveLength(5);
  });

  it('refills at the steady rate and lets an idle bucket expire', async () => {
    // 1200 per minute: a token every 50 ms.
    const [onA, onB] = limiters(1200, 1);
    expect((await onA.take('fast')).ok).toBe(true);
    expect((await onB.take('fast')).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect((await onB.take('fast')).ok).toBe(true);
    const ttl = await a.redis.pttl(`${fixture.prefix}rl:fast`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1100);
  });

  it('does not limit when perMinute is 0', async () => {
    const [onA] = limiters(0, 1);
    for (let i = 0; i < 5; i++) expect((await onA.take('free')).ok).toBe(true);
  });

  it('rejects with RateLimiterUnavailableError when Redis is gone', async () => {
    const handle = await fixture.connect('replica-c');
    const limiter = createRedisRateLimiter(handle, { perMinute: 10, burst: 1, keyPrefix: fixture.prefix });
    await handle.close();
    const started = Date.now();
    await expect(limiter.take('alice')).rejects.toBeInstanceOf(RateLimiterUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
