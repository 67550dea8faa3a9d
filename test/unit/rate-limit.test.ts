// The mutation rate limit: the in-process token bucket on its own (a burst, then the steady rate),
// and yoga's answers to a limiter's decisions: RATE_LIMITED (429, Retry-After) past the limit, and
// SERVICE_UNAVAILABLE (503) naming Redis when the shared store cannot be reached.
import { createRequire } from 'node:module';
import type * as graphql from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createYogaServer } from '../../src/http/yoga.js';
import type { AuthService } from '../../src/services/auth.js';
import type { Services } from '../../src/services/index.js';
import { createRateLimiter, RateLimiterUnavailableError, type RateLimiter } from '../../src/services/rate-limit.js';

describe('in-process rate limiter', () => {
  it('allows the burst, then refuses with the seconds until the next token, then refills', async () => {
    let now = 0;
    const limiter = createRateLimiter({ perMinute: 6, burst: 2, now: () => now });
    expect(await limiter.take('a')).toEqual({ ok: true });
    expect(await limiter.take('a')).toEqual({ ok: true });
    expect(await limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 10 });
    expect(await limiter.take('b')).toEqual({ ok: true });
    now = 4_000;
    expect(await limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 6 });
    now = 10_000;
    expect(await limiter.take('a')).toEqual({ ok: true });
  });
});

// yoga validates with the graphql build Node loads (CommonJS); the test runner may hand this file the ES one.
const { buildSchema } = createRequire(import.meta.url)('graphql') as typeof graphql;

function yogaWith(rateLimiter: RateLimiter) {
  const schema = buildSchema('type Query { ping: Int }\ntype Mutation { touch: Int }');
  const auth = {
    authenticateRequest: () => Promise.resolve({ viewer: { user: 'alice' }, snapshot: { amiGeneration: '' } }),
  } as Partial<AuthService> as AuthService;
  return createYogaServer({
    schema,
    services: {} as Services,
    auth,
    security: { corsOrigins: [], introspection: false, graphiql: false, maxBodyBytes: 100_000, mutationsPerMinute: 5 },
    logger: pino({ level: 'silent' }),
    rateLimiter,
  });
}

async function post(yoga: ReturnType<typeof yogaWith>, query: string) {
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

describe('yoga and the rate limiter', () => {
  it('answers RATE_LIMITED with 429 and Retry-After when the limiter refuses a mutation', async () => {
    const yoga = yogaWith({ take: () => Promise.resolve({ ok: false, retryAfterSeconds: 7 }) });
    const res = await post(yoga, 'mutation { touch }');
    expect(res.status).toBe(429);
    expect(res.retryAfter).toBe('7');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await post(yoga, '{ ping }')).status).toBe(200);
  });

  it('answers SERVICE_UNAVAILABLE with 503, naming Redis, when the limiter’s store is unreachable', async () => {
    const yoga = yogaWith({ take: () => Promise.reject(new RateLimiterUnavailableError('Redis did not answer')) });
    const res = await post(yoga, 'mutation { touch }');
    expect(res.status).toBe(503);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.body.errors?.[0]?.message).toContain('Redis');
    expect((await post(yoga, '{ ping }')).status).toBe(200);
  });
});
