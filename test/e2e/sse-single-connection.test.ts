// graphql-sse's single connection mode on a real listening server: the graphql-sse client with
// singleConnection: true streams amiProgress to COMPLETED, carries two operations on one stream, and
// every request of the protocol (PUT, GET, POST, DELETE) needs the bearer token of the stream's
// owner. The stream counts as one connection under the caps and each subscription on it as one
// subscription; refusals answer HTTP 429 naming the cap. Distinct-connection SSE still works.
import { print } from 'graphql';
import { createClient, type Client, type ExecutionResult } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  CreateAmiDocument,
  type AmiProgressSubscription,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { baseOf, scrape } from '../ops/support.js';
import { collectOverSse, eventually, startTestApp, type TestApp } from '../support/harness.js';

const PROGRESS = print(AmiProgressDocument);
const TOKEN_HEADER = 'x-graphql-event-stream-token';

type Progress = AmiProgressSubscription['amiProgress'];
type Errors = { errors: { message: string; extensions?: { code: string; limit?: string } }[] };

const clients: { dispose(): void }[] = [];
function client(url: string, token: string): Client<true> {
  const c = createClient({ url, singleConnection: true, retryAttempts: 0, headers: { authorization: `Bearer ${token}` } });
  clients.push(c);
  return c;
}
afterEach(() => clients.splice(0).forEach((c) => c.dispose()));

/** Every amiProgress event of `id` over `c`, until the subscription completes. */
async function progressOf(c: Client<true>, id: string): Promise<Progress[]> {
  const events: Progress[] = [];
  for await (const result of c.iterate<AmiProgressSubscription>({ query: PROGRESS, variables: { id } })) {
    if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
    events.push(result.data!.amiProgress);
  }
  return events;
}

async function createAmi(t: TestApp, input: CreateAmiInput, token?: string): Promise<string> {
  const { createAmi: result } = await t.gql(CreateAmiDocument, { input }, token);
  if (result.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${result.__typename} ${result.message}`);
  return result.creation.id;
}

/** The protocol's requests by hand, to see the server's answers the client would hide. */
function raw(url: string, token: string | undefined, method: string, extra: Record<string, string> = {}, body?: unknown) {
  return fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...extra,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
}

async function reserve(url: string, token: string): Promise<string> {
  const res = await raw(url, token, 'PUT');
  expect(res.status).toBe(201);
  return res.text();
}

describe('single connection mode on the simulator', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await startTestApp(
      { EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '10', POLL_INTERVAL_MS: '200' },
      {},
      { seededOwner: 'alice' },
    );
    alice = await t.tokenFor('alice');
    bob = await t.tokenFor('bob');
  });
  afterAll(() => t.stop());

  it('streams amiProgress of a creation to COMPLETED through the graphql-sse client with singleConnection: true', async () => {
    const id = await createAmi(t, { instance: 'demo-workstation', name: 'single (sse)' }, alice);
    const events = await progressOf(client(t.url, alice), id);
    expect(events.length).toBeGreaterThan(2);
    expect(events.every((e) => e.id === id)).toBe(true);
    const progresses = events.map((e) => e.progress);
    expect(progresses).toEqual([...progresses].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ status: 'COMPLETED', stage: 'DONE', progress: 100 });
  });

  it('carries two subscriptions on one stream, counted as one connection and two subscriptions, both to COMPLETED', async () => {
    const first = await createAmi(t, { instance: 'demo-workstation', name: 'single one' }, alice);
    const second = await createAmi(t, { instance: 'teaching-env', name: 'single two' }, alice);
    const c = client(t.url, alice);
    const both = Promise.all([progressOf(c, first), progressOf(c, second)]);
    const counted = await eventually(() => (t.app.limiter.counts().subscriptions === 2 ? t.app.limiter.counts() : undefined));
    expect(counted).toMatchObject({ connections: 1, subscriptions: 2 });
    expect((await scrape(baseOf(t.url))).value('prism_ami_subscriptions_open', { transport: 'sse' })).toBe(2);
    const [a, b] = await both;
    expect(a.at(-1)).toMatchObject({ id: first, status: 'COMPLETED' });
    expect(b.at(-1)).toMatchObject({ id: second, status: 'COMPLETED' });
    c.dispose();
    await eventually(() => (t.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
    expect(t.app.limiter.counts()).toMatchObject({ connections: 0, subscriptions: 0 });
  });

  it('answers 401 to a reservation, stream or operation without a token or with an unknown one', async () => {
    expect((await raw(t.url, undefined, 'PUT')).status).toBe(401);
    const wrong = await raw(t.url, 'not-a-token', 'PUT');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as Errors).errors[0]!.extensions?.code).toBe('UNAUTHENTICATED');
    const stream = await reserve(t.url, alice);
    const headers = { [TOKEN_HEADER]: stream };
    expect((await raw(t.url, undefined, 'GET', { ...headers, accept: 'text/event-stream' })).status).toBe(401);
    const op = { query: '{ viewer { user } }', extensions: { operationId: 'q' } };
    expect((await raw(t.url, undefined, 'POST', headers, op)).status).toBe(401);
    expect((await raw(t.url, 'not-a-token', 'POST', headers, op)).status).toBe(401);
    expect((await raw(t.url, undefined, 'DELETE', headers)).status).toBe(401);
  });

  it('keeps CSRF prevention on the rest of /graphql: a GET query with neither Authorization nor the CSRF header is refused 403', async () => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as Errors).errors[0]!.message).toMatch(/CSRF/);
  });

  it("answers 404 to another user's requests on a stream, and runs its owner's", async () => {
    const stream = await reserve(t.url, alice);
    const headers = { [TOKEN_HEADER]: stream };
    const op = { query: '{ viewer { user } }', extensions: { operationId: 'q' } };
    expect((await raw(t.url, bob, 'POST', headers, op)).status).toBe(404);
    expect((await raw(t.url, bob, 'GET', { ...headers, accept: 'text/event-stream' })).status).toBe(404);
    expect((await raw(t.url, bob, 'DELETE', headers)).status).toBe(404);
    // The owner's operation is accepted onto the stream and its result flushed when it opens.
    expect((await raw(t.url, alice, 'POST', headers, op)).status).toBe(202);
    const controller = new AbortController();
    const res = await fetch(t.url, {
      headers: { ...headers, accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: complete')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('"viewer":{"user":"alice"}');
  });

  it('keeps distinct-connection SSE (Accept: text/event-stream on /graphql) streaming amiProgress to COMPLETED', async () => {
    const id = await createAmi(t, { instance: 'demo-workstation', name: 'distinct (sse)' }, alice);
    const events = await collectOverSse(t.url, AmiProgressDocument, { id }, { token: alice, timeoutMs: 30_000 });
    expect(events.at(-1)!.amiProgress).toMatchObject({ id, status: 'COMPLETED' });
  });
});

describe('single connection mode under the caps', () => {
  let t: TestApp;
  let alice: string;
  let creationId: string;
  const streams: AbortController[] = [];
  beforeAll(async () => {
    t = await startTestApp(
      {
        EC2_BACKEND: 'simulator',
        // The creation stays in progress for the whole file, so its subscriptions stay open.
        SIMULATOR_SPEED_GIB_PER_SECOND: '0.0001',
        MAX_CONNECTIONS_PER_USER: '2',
        MAX_SUBSCRIPTIONS_PER_USER: '2',
      },
      {},
      { seededOwner: 'alice' },
    );
    alice = await t.tokenFor('alice');
    creationId = await createAmi(t, { instance: 'demo-workstation', name: 'capped' }, alice);
  });
  afterAll(() => t.stop());
  afterEach(async () => {
    streams.splice(0).forEach((s) => s.abort());
    await eventually(() => (t.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
  });

  /** A distinct-connection SSE subscription of alice's, open until the test ends. */
  async function distinct(): Promise<number> {
    const controller = new AbortController();
    streams.push(controller);
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      body: JSON.stringify({ query: PROGRESS, variables: { id: creationId } }),
      signal: controller.signal,
    });
    return res.status;
  }

  it('answers 429 naming MAX_CONNECTIONS_PER_USER to a reservation of a user whose connections are at the cap', async () => {
    expect(await distinct()).toBe(200);
    expect(await distinct()).toBe(200);
    const refused = await raw(t.url, alice, 'PUT');
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as Errors;
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'MAX_CONNECTIONS_PER_USER' });
    expect(body.errors[0]!.message).toMatch(/at most 2 per user/);
  });

  it('answers 429 naming MAX_SUBSCRIPTIONS_PER_USER to the operation past the cap, and keeps the stream and the others', async () => {
    const c = client(t.url, alice);
    const firstEvents: ExecutionResult[] = [];
    const iterators = [0, 1].map(() => c.iterate({ query: PROGRESS, variables: { id: creationId } }));
    for (const it of iterators) firstEvents.push((await it.next()).value as ExecutionResult);
    expect(firstEvents.every((e) => !e.errors)).toBe(true);
    expect(t.app.limiter.counts()).toMatchObject({ connections: 1, subscriptions: 2 });

    const stream = await reserveFromClientless();
    const op = { query: PROGRESS, variables: { id: creationId }, extensions: { operationId: 'third' } };
    const refused = await raw(t.url, alice, 'POST', { [TOKEN_HEADER]: stream }, op);
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as Errors;
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'MAX_SUBSCRIPTIONS_PER_USER' });
    expect(t.app.limiter.counts()).toMatchObject({ connections: 2, subscriptions: 2 });

    // Stopping one operation (the client's DELETE) gives its slot back.
    await iterators[0]!.return!();
    await eventually(() => (t.app.limiter.counts().subscriptions === 1 ? true : undefined), 5_000);
    c.dispose();
    await eventually(() => (t.app.limiter.counts().subscriptions === 0 ? true : undefined), 5_000);
  });

  /** A second stream of alice's, opened by hand (and closed after the test). */
  async function reserveFromClientless(): Promise<string> {
    const stream = await reserve(t.url, alice);
    const controller = new AbortController();
    streams.push(controller);
    const res = await fetch(t.url, {
      headers: { [TOKEN_HEADER]: stream, accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    return stream;
  }

  it('frees the connection slot of a reservation when its stream ends', async () => {
    for (let round = 0; round < 3; round++) {
      const c = client(t.url, alice);
      const it = c.iterate({ query: PROGRESS, variables: { id: creationId } });
      await it.next();
      expect(t.app.limiter.counts()).toMatchObject({ connections: 1, subscriptions: 1 });
      c.dispose();
      await eventually(() => (t.app.limiter.counts().connections === 0 ? true : undefined), 5_000);
    }
    expect(t.app.limiter.counts()).toEqual({ connections: 0, subscriptions: 0, users: 0 });
  });
});
