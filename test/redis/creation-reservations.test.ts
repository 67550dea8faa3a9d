// The active-creation cap across replicas through the real Redis: places being started on two
// replicas count against one another and against the user's recorded creations, a release gives
// the place back everywhere, and a place never given back expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisHandle } from '../../src/redis/client.js';
import { createRedisCreationReservations } from '../../src/redis/creation-reservations.js';
import { createCreationCap, type CreationReservations } from '../../src/services/creation-cap.js';
import { ForbiddenError, UnavailableError } from '../../src/services/errors.js';
import { quietLogger, redisFixture } from '../support/redis.js';

const fixture = redisFixture();
let a: RedisHandle;
let b: RedisHandle;

beforeAll(async () => {
  [a, b] = await Promise.all([fixture.connect('replica-a'), fixture.connect('replica-b')]);
});
afterAll(() => fixture.cleanup());

function replicas(test: string, ttlMs?: number): [CreationReservations, CreationReservations] {
  const options = { keyPrefix: `${fixture.prefix}${test}:`, logger: quietLogger, ...(ttlMs ? { ttlMs } : {}) };
  return [
    createRedisCreationReservations(a, { ...options, replicaId: 'replica-a' }),
    createRedisCreationReservations(b, { ...options, replicaId: 'replica-b' }),
  ];
}

describe('Redis creation reservations', () => {
  it('counts places being started on both replicas, and recorded creations, against the cap', async () => {
    const [onA, onB] = replicas('cap');
    const recorded = new Map([['alice', 1]]);
    const countActive = (user: string) => Promise.resolve(recorded.get(user) ?? 0);
    const capA = createCreationCap(countActive, 3, onA);
    const capB = createCreationCap(countActive, 3, onB);
    await capA.reserve('alice');
    await capB.reserve('alice');
    const refused = capA.reserve('alice');
    await expect(refused).rejects.toBeInstanceOf(ForbiddenError);
    await expect(refused).rejects.toThrow('You have 3 active AMI creations; the limit is 3 per user');
    await expect(capB.reserve('bob')).resolves.toBeTypeOf('function');
  });

  it('admits exactly the room left when requests race on both replicas', async () => {
    const [onA, onB] = replicas('race');
    const holds = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? onA : onB).hold('racer', 4)));
    expect(holds.filter((h) => h.ok)).toHaveLength(4);
    expect(holds.find((h) => !h.ok)).toEqual({ ok: false, held: 4 });
  });

  it('gives a released place back on every replica', async () => {
    const [onA, onB] = replicas('release');
    const first = await onA.hold('alice', 1);
    expect((await onB.hold('alice', 1)).ok).toBe(false);
    if (!first.ok) throw new Error('the first place was refused');
    first.release();
    first.release();
    await expect.poll(async () => (await onB.hold('alice', 1)).ok).toBe(true);
  });

  it('lets a place that was never given back expire', async () => {
    const [dead, alive] = replicas('expire', 200);
    expect((await dead.hold('alice', 1)).ok).toBe(true);
    expect((await alive.hold('alice', 1)).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect((await alive.hold('alice', 1)).ok).toBe(true);
  });

  it('fails the reservation, naming Redis, when Redis cannot be reached', async () => {
    const handle = await fixture.connect('replica-c');
    const reservations = createRedisCreationReservations(handle, {
      keyPrefix: fixture.prefix,
      replicaId: 'replica-c',
      logger: quietLogger,
    });
    await handle.close();
    const refused = createCreationCap(() => Promise.resolve(0), 5, reservations).reserve('alice');
    await expect(refused).rejects.toThrow(/^Redis \(127\.0\.0\.1:6379\) did not answer/);
    // SERVICE_UNAVAILABLE: shown to the client as it is, not masked as an unexpected error.
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
  });
});
