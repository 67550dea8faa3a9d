// Per-user caps and the server-wide ceiling on real sockets: graphql-ws connections and SSE streams
// of one user count together (4429 / HTTP 429 past the cap, naming it), subscriptions past their cap
// get a graphql-ws error while the connection lives on, and every slot comes back when its
// connection, stream or subscription ends.
import { print } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiChangesDocument,
  AmiCreationChangesDocument,
  AmiProgressDocument,
  CreateAmiDocument,
} from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { openRaw, type RawConnection } from '../support/raw-ws.js';
import { baseOf, scrape } from '../ops/support.js';

const PROGRESS = print(AmiProgressDocument);
const CREATION_CHANGES = print(AmiCreationChangesDocument);
const AMI_CHANGES = print(AmiChangesDocument);

let t: TestApp;
let alice: string;
let bob: string;
let carol: string;
let creationId: string;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await startTestApp(
    {
      EC2_BACKEND: 'simulator',
      // The creation stays in progress for the whole file, so its subscriptions stay open.
      SIMULATOR_SPEED_GIB_PER_SECOND: '0.0001',
      MAX_CONNECTIONS_PER_USER: '3',
      MAX_SUBSCRIPTIONS_PER_USER: '4',
      MAX_CONNECTIONS: '5',
    },
    {},
    // Alice captures the seeded instance, so it must be hers.
    { seededOwner: 'alice' },
  );
  alice = await t.tokenFor('alice');
  bob = await t.tokenFor('bob');
  carol = await t.tokenFor('carol');
  const created = await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'capped' } }, alice);
  if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(created.createAmi.__typename);
  creationId = created.createAmi.creation.id;
});
afterAll(() => t.stop());
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await eventually(() => (t.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
});

async function ws(token: string): Promise<RawConnection & { acked: boolean }> {
  const c = await openRaw(t.url, token);
  open.push(c);
  return c;
}

/** An SSE subscription to alice's creation (or `id`); resolves once the server answered. */
async function sse(token: string, id = creationId): Promise<{ status: number; body: () => Promise<unknown> }> {
  const controller = new AbortController();
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PROGRESS, variables: { id } }),
    signal: controller.signal,
  });
  open.push({ close: () => Promise.resolve(controller.abort()) });
  return { status: res.status, body: () => res.json() as Promise<unknown> };
}

type Errors = { errors: { message: string; extensions: { code: string; limit: string } }[] };

describe('MAX_CONNECTIONS_PER_USER', () => {
  it('closes the 4th WebSocket of a user with 4429 naming MAX_CONNECTIONS_PER_USER, and keeps the first three open', async () => {
    const first = await Promise.all([ws(alice), ws(alice), ws(alice)]);
    expect(first.every((c) => c.acked)).toBe(true);
    const fourth = await ws(alice);
    expect(fourth.acked).toBe(false);
    const { code, reason } = await fourth.closed;
    expect(code).toBe(4429);
    expect(reason).toMatch(/at most 3 per user/);
    expect(reason).toContain('MAX_CONNECTIONS_PER_USER');
    // The first three still answer operations.
    first[0].subscribe('q', '{ viewer { user } }');
    expect((await first[0].first('q', ['next'])).payload).toEqual({ data: { viewer: { user: 'alice' } } });
  });

  it('counts SSE streams and WebSockets of one user together: 2 WebSockets + 1 SSE stream fill a cap of 3', async () => {
    await ws(alice);
    await ws(alice);
    expect((await sse(alice)).status).toBe(200);
    expect(t.app.limiter.counts().connections).toBe(3);
    const refused = await ws(alice);
    expect((await refused.closed).code).toBe(4429);
  });

  it('answers HTTP 429 with a JSON GraphQL error naming the cap to an SSE stream past it', async () => {
    await ws(alice);
    expect((await sse(alice)).status).toBe(200);
    expect((await sse(alice)).status).toBe(200);
    const refused = await sse(alice);
    expect(refused.status).toBe(429);
    const body = (await refused.body()) as Errors;
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'MAX_CONNECTIONS_PER_USER' });
    expect(body.errors[0]!.message).toMatch(/at most 3 per user.*MAX_CONNECTIONS_PER_USER/);
  });

  it('leaves another user unaffected when one user is at the cap', async () => {
    await Promise.all([ws(alice), ws(alice), ws(alice)]);
    expect((await ws(alice)).acked).toBe(false);
    const other = await ws(bob);
    expect(other.acked).toBe(true);
    other.subscribe('q', '{ viewer { user } }');
    expect((await other.first('q', ['next'])).payload).toEqual({ data: { viewer: { user: 'bob' } } });
  });
});

describe('MAX_CONNECTIONS (server-wide)', () => {
  it('refuses a connection of any user past the ceiling with 4429 and HTTP 429 naming MAX_CONNECTIONS, though each user is under their own cap', async () => {
    await Promise.all([ws(alice), ws(alice), ws(alice), ws(bob), ws(bob)]);
    const third = await ws(carol);
    expect(third.acked).toBe(false);
    const { code, reason } = await third.closed;
    expect(code).toBe(4429);
    expect(reason).toContain('MAX_CONNECTIONS)');
    const stream = await sse(carol);
    expect(stream.status).toBe(429);
    expect(((await stream.body()) as Errors).errors[0]!.extensions.limit).toBe('MAX_CONNECTIONS');
    const metrics = await scrape(baseOf(t.url));
    expect(metrics.value('prism_ami_connections_open')).toBe(5);
    expect(metrics.value('prism_ami_limit_refusals_total', { limit: 'MAX_CONNECTIONS' })).toBeGreaterThanOrEqual(2);
  });
});

describe('MAX_SUBSCRIPTIONS_PER_USER', () => {
  it('answers the 5th subscription with a graphql-ws error naming the cap; the connection and the other four keep working', async () => {
    const c = await ws(alice);
    for (const id of ['s1', 's2', 's3', 's4']) c.subscribe(id, PROGRESS, { id: creationId });
    await Promise.all(['s1', 's2', 's3', 's4'].map((id) => c.first(id, ['next'])));
    c.subscribe('s5', PROGRESS, { id: creationId });
    const refused = await c.first('s5', ['next', 'error', 'complete']);
    expect(refused.type).toBe('error');
    const [error] = refused.payload as Errors['errors'];
    expect(error!.message).toMatch(/at most 4 per user.*MAX_SUBSCRIPTIONS_PER_USER/);
    expect(error!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'MAX_SUBSCRIPTIONS_PER_USER' });
    expect(c.socket.readyState).toBe(c.socket.OPEN);
    expect(c.messages.filter((m) => m.type === 'complete' || m.type === 'error').map((m) => m.id)).toEqual(['s5']);
    // Queries on the same connection are not subscriptions and still run.
    c.subscribe('q', '{ viewer { user } }');
    expect((await c.first('q', ['next'])).type).toBe('next');
    // Completing one frees its slot for the next.
    c.complete('s1');
    await eventually(() => (t.app.limiter.counts().subscriptions === 3 ? true : undefined), 5_000);
    c.subscribe('s6', PROGRESS, { id: creationId });
    expect((await c.first('s6', ['next', 'error'])).type).toBe('next');
  });

  it('counts amiCreationChanges and amiChanges as subscriptions: with two of each open, a 5th subscription is refused', async () => {
    const c = await ws(alice);
    c.subscribe('c1', CREATION_CHANGES, {});
    c.subscribe('c2', CREATION_CHANGES, { statuses: ['COMPLETED'] });
    c.subscribe('a1', AMI_CHANGES);
    c.subscribe('a2', AMI_CHANGES);
    // These streams send nothing until something changes: the count says they were taken.
    await eventually(() => (t.app.limiter.counts().subscriptions === 4 ? true : undefined), 5_000);
    c.subscribe('s5', PROGRESS, { id: creationId });
    const refused = await c.first('s5', ['next', 'error', 'complete']);
    expect(refused.type).toBe('error');
    expect((refused.payload as Errors['errors'])[0]!.extensions.limit).toBe('MAX_SUBSCRIPTIONS_PER_USER');
    // Completing one of them frees its slot.
    c.complete('a2');
    await eventually(() => (t.app.limiter.counts().subscriptions === 3 ? true : undefined), 5_000);
    c.subscribe('s6', PROGRESS, { id: creationId });
    expect((await c.first('s6', ['next', 'error'])).type).toBe('next');
  });

  it('counts an SSE stream as a subscription too: an SSE stream past the subscription cap gets HTTP 429', async () => {
    const c = await ws(alice);
    for (const id of ['s1', 's2', 's3', 's4']) c.subscribe(id, PROGRESS, { id: creationId });
    await Promise.all(['s1', 's2', 's3', 's4'].map((id) => c.first(id, ['next'])));
    const refused = await sse(alice);
    expect(refused.status).toBe(429);
    expect(((await refused.body()) as Errors).errors[0]!.extensions.limit).toBe('MAX_SUBSCRIPTIONS_PER_USER');
  });
});

describe('counts come back', () => {
  it('releases every connection, stream and subscription slot when they end, so the user can fill the cap again', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await ws(alice);
      for (const id of ['s1', 's2', 's3']) c.subscribe(id, PROGRESS, { id: creationId });
      await Promise.all(['s1', 's2', 's3'].map((id) => c.first(id, ['next'])));
      expect((await sse(alice)).status).toBe(200);
      expect((await ws(alice)).acked).toBe(true);
      expect(t.app.limiter.counts()).toEqual({ connections: 3, subscriptions: 4, users: 1 });
      await Promise.all(open.splice(0).map((x) => x.close()));
      await eventually(() => (t.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
      expect(t.app.limiter.counts()).toEqual({ connections: 0, subscriptions: 0, users: 0 });
    }
    // Refused attempts hold nothing either.
    await Promise.all([ws(bob), ws(bob), ws(bob), ws(bob), ws(bob)]);
    await Promise.all(open.splice(0).map((x) => x.close()));
    await eventually(() => (t.app.limiter.counts().users === 0 ? true : undefined), 5_000);
    expect((await scrape(baseOf(t.url))).value('prism_ami_connections_open')).toBe(0);
  });

  it('releases the slots of a socket the client drops without a close handshake', async () => {
    const c = await ws(alice);
    c.subscribe('s1', PROGRESS, { id: creationId });
    await c.first('s1', ['next']);
    expect(t.app.limiter.counts().subscriptions).toBe(1);
    c.socket.terminate();
    await eventually(() => (t.app.limiter.counts().subscriptions === 0 ? true : undefined), 5_000);
    expect(t.app.limiter.counts().connections).toBe(0);
  });
});

describe('default caps', () => {
  let d: TestApp;
  beforeAll(async () => {
    d = await startTestApp({ EC2_BACKEND: 'simulator' });
  });
  afterAll(() => d.stop());

  it('closes the 21st connection of a user with 4429 (MAX_CONNECTIONS_PER_USER defaults to 20)', async () => {
    const token = await d.tokenFor('dora');
    const conns = await Promise.all(Array.from({ length: 20 }, () => openRaw(d.url, token)));
    try {
      expect(conns.every((c) => c.acked)).toBe(true);
      const extra = await openRaw(d.url, token);
      expect(extra.acked).toBe(false);
      expect((await extra.closed).code).toBe(4429);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
    await eventually(() => (d.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
  });
});
