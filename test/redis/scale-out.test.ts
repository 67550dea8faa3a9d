// createRedisScaleOut, as app.ts will use it: two replicas built from one URL and prefix share
// events, the rate limit, the caps and the reservations; stop() closes everything and /ready turns false.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisScaleOut, type RedisScaleOut } from '../../src/redis/index.js';
import { createCreationCap } from '../../src/services/creation-cap.js';
import { quietLogger, REDIS_URL, redisFixture } from '../support/redis.js';

const fixture = redisFixture();
const built: RedisScaleOut<{ n: number }>[] = [];
afterAll(async () => {
  await Promise.all(built.map((r) => r.stop()));
  await fixture.cleanup();
});

const caps = { maxConnectionsPerUser: 1, maxSubscriptionsPerUser: 1, maxConnections: 10 };

async function replica(): Promise<RedisScaleOut<{ n: number }>> {
  const r = await createRedisScaleOut<{ n: number }>({
    url: REDIS_URL,
    keyPrefix: fixture.prefix,
    replicaId: `replica-${randomUUID()}`,
    logger: quietLogger,
    caps,
    mutationsPerMinute: 1,
  });
  built.push(r);
  return r;
}

describe('createRedisScaleOut', () => {
  it('gives two replicas one event bus, rate limit, set of caps and of reservations', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    expect(a.isReady() && b.isReady()).toBe(true);
    const sub = b.events.subscribe('c');
    await b.events.ready('c');
    a.events.publish('c', { n: 1 });
    expect((await sub.next()).value).toEqual({ n: 1 });
    await sub.return?.();
    expect((await a.rateLimiter.take('alice')).ok).toBe(true);
    expect((await b.rateLimiter.take('alice')).ok).toBe(false);
    expect((await a.connectionLimiter.acquire('connection', 'alice')).ok).toBe(true);
    expect((await b.connectionLimiter.acquire('connection', 'alice')).ok).toBe(false);
    await createCreationCap(() => Promise.resolve(0), 1, a.creationReservations).reserve('alice');
    await expect(createCreationCap(() => Promise.resolve(0), 1, b.creationReservations).reserve('alice')).rejects.toThrow(
      'MAX_ACTIVE_CREATIONS_PER_USER',
    );
  });

  it('is not ready once stopped, and stop() twice does not throw', async () => {
    const r = await replica();
    await r.stop();
    expect(r.isReady()).toBe(false);
    await r.stop();
  });

  it('names REDIS_URL when Redis cannot be reached', async () => {
    await expect(
      createRedisScaleOut({
        url: 'redis://127.0.0.1:1',
        keyPrefix: fixture.prefix,
        replicaId: 'x',
        logger: quietLogger,
        caps,
        mutationsPerMinute: 1,
      }),
    ).rejects.toThrow(/^REDIS_URL: cannot reach Redis at 127\.0\.0\.1:1/);
  });
});
