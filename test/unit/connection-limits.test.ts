// The connection limiter on its own: per-user caps, the server-wide ceiling, refusals that name the
// setting, and leases that give their slot back exactly once.
import { describe, expect, it } from 'vitest';
import { createConnectionLimiter, type Lease, type LimitName } from '../../src/services/connection-limits.js';

const caps = { maxConnectionsPerUser: 2, maxSubscriptionsPerUser: 3, maxConnections: 3 };

async function lease(limiter: ReturnType<typeof createConnectionLimiter>, kind: 'connection' | 'subscription', user: string) {
  const r = await limiter.acquire(kind, user);
  if (!r.ok) throw new Error(r.message);
  return r;
}

describe('connection limiter', () => {
  it('refuses a user past their connection cap, naming MAX_CONNECTIONS_PER_USER, while others still connect', async () => {
    const refused: LimitName[] = [];
    const limiter = createConnectionLimiter(caps, (l) => refused.push(l));
    await lease(limiter, 'connection', 'alice');
    await lease(limiter, 'connection', 'alice');
    const third = await limiter.acquire('connection', 'alice');
    expect(third).toMatchObject({ ok: false, limit: 'MAX_CONNECTIONS_PER_USER', max: 2 });
    expect(third.ok ? '' : third.message).toContain('MAX_CONNECTIONS_PER_USER');
    expect((await limiter.acquire('connection', 'bob')).ok).toBe(true);
    expect(refused).toEqual(['MAX_CONNECTIONS_PER_USER']);
  });

  it('refuses anyone past the server-wide ceiling, naming MAX_CONNECTIONS', async () => {
    const limiter = createConnectionLimiter(caps);
    await lease(limiter, 'connection', 'a');
    await lease(limiter, 'connection', 'b');
    await lease(limiter, 'connection', 'c');
    expect(await limiter.acquire('connection', 'd')).toMatchObject({ ok: false, limit: 'MAX_CONNECTIONS' });
  });

  it('caps subscriptions per user apart from connections', async () => {
    const limiter = createConnectionLimiter(caps);
    for (let i = 0; i < 3; i++) await lease(limiter, 'subscription', 'alice');
    expect(await limiter.acquire('subscription', 'alice')).toMatchObject({
      ok: false,
      limit: 'MAX_SUBSCRIPTIONS_PER_USER',
      max: 3,
    });
    expect((await limiter.acquire('connection', 'alice')).ok).toBe(true);
  });

  it('gives a slot back once however often release is called, and forgets a user with nothing open', async () => {
    const limiter = createConnectionLimiter(caps);
    const a: Lease = await lease(limiter, 'connection', 'alice');
    const b = await lease(limiter, 'connection', 'alice');
    a.release();
    a.release();
    expect(limiter.counts()).toEqual({ connections: 1, subscriptions: 0, users: 1 });
    expect((await limiter.acquire('connection', 'alice')).ok).toBe(true);
    expect((await limiter.acquire('connection', 'alice')).ok).toBe(false);
    b.release();
    expect(limiter.counts().connections).toBe(1);
  });

  it('keeps every refusal message short enough for a WebSocket close reason (123 bytes), at the largest settings', async () => {
    const largest = { maxConnectionsPerUser: 100_000, maxSubscriptionsPerUser: 1_000_000, maxConnections: 1_000_000 };
    const cases = [
      { kind: 'connection', caps: { ...largest, maxConnections: 1 }, user2: 'other' },
      { kind: 'connection', caps: { ...largest, maxConnectionsPerUser: 1 }, user2: 'x' },
      { kind: 'subscription', caps: { ...largest, maxSubscriptionsPerUser: 1 }, user2: 'x' },
    ] as const;
    for (const c of cases) {
      const limiter = createConnectionLimiter(c.caps);
      await lease(limiter, c.kind, 'x');
      const r = await limiter.acquire(c.kind, c.user2);
      if (r.ok) throw new Error('expected a refusal');
      expect(Buffer.byteLength(r.message)).toBeLessThanOrEqual(123);
    }
  });
});
