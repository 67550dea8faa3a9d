// The reservations of graphql-sse's single connection mode, on a bare yoga (no app): a reservation
// nobody opens lapses after its time and gives its connection slot back, and its token then opens
// nothing; one that is opened in time lives as long as its stream.
import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { sseSingleConnectionPlugin } from '../../src/http/sse-single-connection.js';
import type { AuthService } from '../../src/services/auth.js';
import { createConnectionLimiter } from '../../src/services/connection-limits.js';

const TOKEN_HEADER = 'x-graphql-event-stream-token';
const auth = {
  authenticate: (header: string | null | undefined) => Promise.resolve(header === 'Bearer alice' ? { user: 'alice' } : null),
} as unknown as AuthService;

function setup(reservationTimeoutMs: number) {
  const limiter = createConnectionLimiter({ maxConnectionsPerUser: 5, maxSubscriptionsPerUser: 5, maxConnections: 10 });
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { ok: Boolean }' }),
    plugins: [sseSingleConnectionPlugin({ auth, limiter, reservationTimeoutMs })],
  });
  const put = () => yoga.fetch('http://localhost/graphql', { method: 'PUT', headers: { authorization: 'Bearer alice' } });
  const open = (token: string, signal?: AbortSignal) =>
    yoga.fetch('http://localhost/graphql', {
      headers: { authorization: 'Bearer alice', accept: 'text/event-stream', [TOKEN_HEADER]: token },
      signal,
    });
  return { limiter, put, open };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const aborts: AbortController[] = [];
afterEach(() => aborts.splice(0).forEach((a) => a.abort()));

describe('single connection reservations', () => {
  it('frees the connection slot of a reservation not opened in time, and answers 404 to its token afterwards', async () => {
    const { limiter, put, open } = setup(50);
    const reserved = await put();
    expect(reserved.status).toBe(201);
    const token = await reserved.text();
    expect(limiter.counts().connections).toBe(1);
    await expect.poll(() => limiter.counts().connections, { timeout: 5_000 }).toBe(0);
    expect((await open(token)).status).toBe(404);
  });

  it('keeps a reservation opened in time for as long as its stream, past the reservation time', async () => {
    const { limiter, put, open } = setup(50);
    const token = await (await put()).text();
    const controller = new AbortController();
    aborts.push(controller);
    const stream = await open(token, controller.signal);
    expect(stream.status).toBe(200);
    await sleep(200);
    expect(limiter.counts().connections).toBe(1);
    await stream.body!.cancel();
    expect(limiter.counts().connections).toBe(0);
  });
});
