// The viewer-wide streams on real sockets against the built-in simulator: amiCreationChanges sends
// every change of the viewer's creations, new ones made by another client included, and never
// another user's (filtered by statuses when asked); amiChanges follows an AMI from AVAILABLE through
// publish, share and deregister. Over graphql-ws and once over SSE.
import { print } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiChangesDocument,
  AmiCreationChangesDocument,
  CreateAmiDocument,
  DeregisterAmiDocument,
  PublishAmiDocument,
  ShareAmiDocument,
  type AmiChangesSubscription,
  type AmiCreationChangesSubscription,
} from '../../src/generated/graphql/graphql.js';
import { ownerAmisTopic, ownerCreationsTopic } from '../../src/services/context.js';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { eventually, sseEvents, startTestApp, withTimeout, type TestApp } from '../support/harness.js';
import { openRaw, type RawConnection } from '../support/raw-ws.js';
import { topicsSubscribed } from '../support/topics.js';

type Change = AmiCreationChangesSubscription['amiCreationChanges'];
type AmiChange = AmiChangesSubscription['amiChanges'];

let t: TestApp;
let alice: string;
let bob: string;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  t = await startTestApp(
    { EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '8', POLL_INTERVAL_MS: '100' },
    {},
    { seededOwner: 'alice' },
  );
  alice = await t.tokenFor('alice');
  bob = await t.tokenFor('bob');
  await t.setOwner([SEEDED_INSTANCES['demo-workstation']], 'bob');
});
afterAll(() => t?.stop());
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const subscribed = (...topics: string[]) => topicsSubscribed(t.app, ...topics);

async function ws(token: string): Promise<RawConnection> {
  const c = await openRaw(t.url, token);
  if (!c.acked) throw new Error('the WebSocket was not acknowledged');
  open.push(c);
  return c;
}

function values<T>(c: RawConnection, id: string, field: string): T[] {
  return c.messages
    .filter((m) => m.id === id && m.type === 'next')
    .map((m) => (m.payload as { data: Record<string, T> }).data[field]!);
}

async function create(token: string, instance: string, name: string): Promise<string> {
  const { createAmi } = await t.gql(CreateAmiDocument, { input: { instance, name } }, token);
  if (createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi: ${createAmi.__typename} ${createAmi.message}`);
  return createAmi.creation.id;
}

describe('amiCreationChanges', () => {
  it("sends alice her new creation made by another client and its every change to COMPLETED, and never bob's", async () => {
    const a = await ws(alice);
    const b = await ws(bob);
    const ready = subscribed(ownerCreationsTopic('alice'), ownerCreationsTopic('alice'), ownerCreationsTopic('bob'));
    a.subscribe('all', print(AmiCreationChangesDocument), {});
    a.subscribe('done', print(AmiCreationChangesDocument), { statuses: ['COMPLETED'] });
    b.subscribe('all', print(AmiCreationChangesDocument), {});
    await withTimeout(ready, 5_000, 'the subscriptions');

    // Made over HTTP, not on the subscribers' sockets.
    const [mine, bobs] = await Promise.all([
      create(alice, 'teaching-env', 'alice-live'),
      create(bob, 'demo-workstation', 'bob-live'),
    ]);
    const completed = (c: RawConnection, id: string) =>
      values<Change>(c, 'all', 'amiCreationChanges').some((x) => x.id === id && x.status === 'COMPLETED') || undefined;
    await eventually(() => completed(a, mine), 30_000);
    await eventually(() => completed(b, bobs), 30_000);
    await eventually(() => values<Change>(a, 'done', 'amiCreationChanges').length || undefined, 5_000);

    const seen = values<Change>(a, 'all', 'amiCreationChanges');
    expect(new Set(seen.map((x) => x.id))).toEqual(new Set([mine]));
    expect(seen[0]!.status).toBe('PENDING');
    expect(seen.some((x) => x.status === 'IN_PROGRESS' && x.progress > 0 && x.progress < 100)).toBe(true);
    expect(new Set(values<Change>(b, 'all', 'amiCreationChanges').map((x) => x.id))).toEqual(new Set([bobs]));
    // Filtered by status: only the COMPLETED change, once.
    expect(values<Change>(a, 'done', 'amiCreationChanges').map((x) => [x.id, x.status])).toEqual([[mine, 'COMPLETED']]);
    // A stream for the viewer: still open after the creation ended.
    expect(a.messages.some((m) => m.type === 'complete')).toBe(false);
  });

  it('streams the same changes over SSE', async () => {
    const controller = new AbortController();
    open.push({ close: () => Promise.resolve(controller.abort()) });
    const ready = subscribed(ownerCreationsTopic('alice'));
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      body: JSON.stringify({ query: print(AmiCreationChangesDocument), variables: { statuses: ['PENDING', 'COMPLETED'] } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const events = readSse<Change>(res, 'amiCreationChanges');
    await withTimeout(ready, 5_000, 'the SSE subscription');
    const id = await create(alice, 'teaching-env', 'alice-sse');
    await eventually(() => events.some((x) => x.id === id && x.status === 'COMPLETED') || undefined, 30_000);
    // PENDING may be told more than once (recorded, then the image requested); nothing in between.
    expect(new Set(events.map((x) => x.status))).toEqual(new Set(['PENDING', 'COMPLETED']));
    expect(events.at(-1)!.status).toBe('COMPLETED');
  });
});

describe('amiChanges', () => {
  it("sends alice's AMI AVAILABLE at the end of its creation, then PUBLIC, PRIVATE, SHARED and DEREGISTERED, and nothing to bob", async () => {
    const a = await ws(alice);
    const b = await ws(bob);
    const ready = subscribed(ownerAmisTopic('alice'), ownerAmisTopic('bob'));
    a.subscribe('amis', print(AmiChangesDocument));
    b.subscribe('amis', print(AmiChangesDocument));
    await withTimeout(ready, 5_000, 'the subscriptions');

    await create(alice, 'teaching-env', 'alice-amis');
    const seen = () => values<AmiChange>(a, 'amis', 'amiChanges');
    const available = await eventually(() => seen().find((x) => x.state === 'AVAILABLE'), 30_000);
    const amiId = available.amiId;
    const step = async (run: () => Promise<unknown>, expected: Partial<AmiChange>) => {
      const before = seen().length;
      await run();
      return eventually(
        () =>
          seen()
            .slice(before)
            .find((x) => x.amiId === amiId && matches(x, expected)),
        5_000,
      );
    };

    await step(() => t.gql(PublishAmiDocument, { input: { amiId, public: true } }, alice), { visibility: 'PUBLIC' });
    await step(() => t.gql(PublishAmiDocument, { input: { amiId, public: false } }, alice), { visibility: 'PRIVATE' });
    await step(() => t.gql(ShareAmiDocument, { input: { amiId, accountIds: ['123456789012'] } }, alice), {
      visibility: 'SHARED',
    });
    await step(() => t.gql(DeregisterAmiDocument, { input: { amiId } }, alice), { state: 'DEREGISTERED' });

    expect(seen().every((x) => x.amiId === amiId)).toBe(true);
    expect(values<AmiChange>(b, 'amis', 'amiChanges')).toEqual([]);
  });
});

function matches(x: AmiChange, expected: Partial<AmiChange>): boolean {
  return Object.entries(expected).every(([k, v]) => x[k as keyof AmiChange] === v);
}

/** The `next` events of an SSE response as they arrive (read in the background until aborted). */
function readSse<T>(res: Response, field: string): T[] {
  const out: T[] = [];
  void (async () => {
    for await (const { event, data } of sseEvents(res)) {
      if (event === 'next' && data) out.push((JSON.parse(data) as { data: Record<string, T> }).data[field]!);
    }
  })().catch(() => undefined);
  return out;
}
