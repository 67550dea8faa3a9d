// The connection caps across replicas through the real Redis: two limiters on two handles share
// each user's caps and the server-wide ceiling, a release frees the slot everywhere, a replica
// that died without releasing gives its slots back after one ttl, and Redis being gone is a
// refusal that says so (503 / close 1013), not an unlimited pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisHandle } from '../../src/redis/client.js';
import { createRedisConnectionLimiter, type RedisConnectionLimiter } from '../../src/redis/connection-limits.js';
import { createConnectionLimiter, type Lease, type LimitKind } from '../../src/services/connection-limits.js';
import { quietLogger, redisFixture } from '../support/redis.js';

const fixture = redisFixture();
let a: RedisHandle;
let b: RedisHandle;
const limiters: RedisConnectionLimiter[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([fixture.connect('replica-a'), fixture.connect('replica-b')]);
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.stop()));
  await fixture.cleanup();
});

const caps = { maxConnectionsPerUser: 2, maxSubscriptionsPerUser: 3, maxConnections: 3 };

/** A replica's limiter, on a prefix of the test's own so that the tests' counts stay apart. */
function replicas(test: string, leaseTtlMs?: number): [RedisConnectionLimiter, RedisConnectionLimiter] {
  const make = (handle: RedisHandle, replicaId: string) => {
    const limiter = createRedisConnectionLimiter(handle, {
      caps,
      keyPrefix: `${fixture.prefix}${test}:`,
      replicaId,
      logger: quietLogger,
      ...(leaseTtlMs ? { leaseTtlMs } : {}),
    });
    limiters.push(limiter);
    return limiter;
  };
  return [make(a, 'replica-a'), make(b, 'replica-b')];
}

async function take(limiter: RedisConnectionLimiter, kind: LimitKind, user: string): Promise<Lease> {
  const r = await limiter.acquire(kind, user);
  if (!r.ok) throw new Error(r.message);
  return r;
}

describe('Redis connection limiter', () => {
  it('counts a user’s connections on both replicas against one cap, with the in-process message', async () => {
    const [onA, onB] = replicas('user-cap');
    await take(onA, 'connection', 'alice');
    await take(onB, 'connection', 'alice');
    const third = await onA.acquire('connection', 'alice');
    const local = createConnectionLimiter(caps);
    await local.acquire('connection', 'x');
    await local.acquire('connection', 'x');
    const expected = await local.acquire('connection', 'x');
    expect(third).toEqual(expected);
    expect(third).toMatchObject({ ok: false, limit: 'MAX_CONNECTIONS_PER_USER', max: 2 });
    expect((await onB.acquire('connection', 'bob')).ok).toBe(true);
  });

  it('counts subscriptions per user apart from connections', async () => {
    const [onA, onB] = replicas('sub-cap');
    await take(onA, 'subscription', 'alice');
    await take(onB, 'subscription', 'alice');
    await take(onA, 'subscription', 'alice');
    expect(await onB.acquire('subscription', 'alice')).toMatchObject({ ok: false, limit: 'MAX_SUBSCRIPTIONS_PER_USER', max: 3 });
    expect((await onB.acquire('connection', 'alice')).ok).toBe(true);
  });

  it('holds the server-wide ceiling across replicas and users', async () => {
    const [onA, onB] = replicas('global-cap');
    await take(onA, 'connection', 'a');
    await take(onB, 'connection', 'b');
    await take(onA, 'connection', 'c');
    const refused = await onB.acquire('connection', 'd');
    expect(refused).toMatchObject({ ok: false, limit: 'MAX_CONNECTIONS', max: 3 });
    expect(refused.ok ? '' : refused.message).toContain('MAX_CONNECTIONS');
  });

  it('frees the slot on every replica when released, once however often release is called', async () => {
    const [onA, onB] = replicas('release');
    const first = await take(onA, 'connection', 'alice');
    await take(onA, 'connection', 'alice');
    expect((await onB.acquire('connection', 'alice')).ok).toBe(false);
    first.release();
    first.release();
    await expect.poll(async () => (await onB.acquire('connection', 'alice')).ok).toBe(true);
    expect((await onB.acquire('connection', 'alice')).ok).toBe(false);
    expect(onA.counts()).toEqual({ connections: 1, subscriptions: 0, users: 1 });
    expect(onB.counts()).toEqual({ connections: 1, subscriptions: 0, users: 1 });
  });

  it('admits exactly the cap when many acquires race on both replicas', async () => {
    const [onA, onB] = replicas('race');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? onA : onB).acquire('connection', 'racer')));
    expect(answers.filter((r) => r.ok)).toHaveLength(2);
  });

  it('reclaims the slots of a replica that died without releasing after one ttl, while a live one keeps its own', async () => {
    const [dead, alive] = replicas('reclaim', 300);
    await take(dead, 'connection', 'alice');
    await take(alive, 'connection', 'alice');
    // Killed: no heartbeat and no release from now on.
    await dead.stop();
    expect((await alive.acquire('connection', 'alice')).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    // The live replica's lease outlived its ttl through the heartbeat; the dead one's did not.
    const again = await alive.acquire('connection', 'alice');
    expect(again.ok).toBe(true);
    expect((await alive.acquire('connection', 'alice')).ok).toBe(false);
  });

  it('refuses, naming Redis, when Redis cannot be reached', async () => {
    const handle = await fixture.connect('replica-c');
    const limiter = createRedisConnectionLimiter(handle, {
      caps,
      keyPrefix: `${fixture.prefix}down:`,
      replicaId: 'replica-c',
      logger: quietLogger,
    });
    limiters.push(limiter);
    await handle.close();
    const refused = await limiter.acquire('connection', 'alice');
    expect(refused).toMatchObject({ ok: false, limit: 'REDIS_UNAVAILABLE' });
    expect(refused.ok ? '' : refused.message).toContain('Redis');
    expect(Buffer.byteLength(refused.ok ? '' : refused.message)).toBeLessThanOrEqual(123);
  });
});
