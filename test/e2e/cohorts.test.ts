// Subscription cohorts over real sockets: many graphql-ws (and SSE) subscribers of one creation with
// the same document share one execution per event and receive the same payloads; other documents,
// variables and users run in cohorts of their own; leaving and authorization as before.
import type { FormattedExecutionResult as ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { CreateAmiDocument, type CreateAmiInput } from '../../src/generated/graphql/graphql.js';
import { eventually, sseEvents, startTestApp, type TestApp } from '../support/harness.js';

const PROGRESS = `subscription($id: ID!) { amiProgress(id: $id) { id status progress elapsedSeconds estimatedSecondsRemaining } }`;
const OTHER_SELECTION = `subscription($id: ID!) { amiProgress(id: $id) { id progress } }`;

let t: TestApp;
let creationId: string;
let otherCreationId: string;

beforeAll(async () => {
  // 30 GiB at 0.3 GiB/s: ~100 s of snapshotting, changing every poll, longer than the file runs.
  t = await startTestApp({
    EC2_BACKEND: 'simulator',
    SIMULATOR_SPEED_GIB_PER_SECOND: '0.3',
    POLL_INTERVAL_MS: '100',
    // One connection per subscriber, as browsers and the benchmark open them.
    MAX_CONNECTIONS_PER_USER: '1000',
  });
  creationId = await createAmi({ instance: 'demo-workstation', name: 'cohorts' });
  otherCreationId = await createAmi({ instance: 'genomics-pipeline', name: 'cohorts other' });
});

afterAll(async () => {
  await t?.stop();
});

async function createAmi(input: CreateAmiInput): Promise<string> {
  const { createAmi: result } = await t.gql(CreateAmiDocument, { input });
  if (result.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${result.__typename}`);
  return result.creation.id;
}

interface Sub {
  got: ExecutionResult<Record<string, unknown>, unknown>[];
  errors: unknown[];
  stop(): Promise<void>;
}

function wsSubscriber(query: string, variables: Record<string, unknown>, token = t.token): Sub {
  const client = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const sub: Sub = {
    got: [],
    errors: [],
    async stop() {
      unsubscribe();
      await client.dispose();
    },
  };
  const unsubscribe = client.subscribe(
    { query, variables },
    { next: (r) => sub.got.push(r), error: (e) => sub.errors.push(e), complete: () => undefined },
  );
  return sub;
}

function sseSubscriber(query: string, variables: Record<string, unknown>): Sub {
  const controller = new AbortController();
  const sub: Sub = {
    got: [],
    errors: [],
    stop: () => Promise.resolve(controller.abort()),
  };
  void (async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    for await (const { event, data } of sseEvents(res)) {
      if (event === 'next' && data) sub.got.push(JSON.parse(data) as ExecutionResult);
    }
  })().catch((e: unknown) => {
    if (!controller.signal.aborted) sub.errors.push(e);
  });
  return sub;
}

const stopAll = (subs: Sub[]) => Promise.all(subs.map((s) => s.stop()));

/** Waits for `events` more executions of the cohorts, then for every subscriber to have received them. */
async function nextEvents(subs: Sub[], events: number): Promise<Sub['got'][]> {
  const marks = subs.map((s) => s.got.length);
  const e0 = t.app.cohorts.stats.executions;
  await eventually(() => (t.app.cohorts.stats.executions >= e0 + events ? true : undefined));
  const e1 = t.app.cohorts.stats.executions;
  await eventually(() => (subs.every((s, i) => s.got.length >= marks[i]! + (e1 - e0)) ? true : undefined));
  return subs.map((s, i) => s.got.slice(marks[i], marks[i]! + (e1 - e0)));
}

describe('subscription cohorts', () => {
  it('runs one execution per event for 50 graphql-ws subscribers with the same document, each getting the same payloads', async () => {
    const watch = vi.spyOn(t.app.services.creations, 'watch');
    const subs = Array.from({ length: 50 }, () => wsSubscriber(PROGRESS, { id: creationId }));
    try {
      await eventually(() => (subs.every((s) => s.got.length > 0) ? true : undefined));
      expect(watch).toHaveBeenCalledTimes(1);
      expect(t.app.cohorts.stats.cohorts).toBe(1);
      const windows = await nextEvents(subs, 3);
      expect(windows[0]!.length).toBeGreaterThanOrEqual(3);
      for (const w of windows) expect(w).toEqual(windows[0]);
      for (const s of subs) expect(s.errors).toEqual([]);
    } finally {
      watch.mockRestore();
      await stopAll(subs);
    }
    await eventually(() => (t.app.cohorts.stats.cohorts === 0 ? true : undefined));
  });

  it('gives a subscriber joining a running cohort the current state at once', async () => {
    const first = wsSubscriber(PROGRESS, { id: creationId });
    try {
      await eventually(() => (first.got.length > 1 ? true : undefined));
      const late = wsSubscriber(PROGRESS, { id: creationId });
      await eventually(() => (late.got.length > 0 ? true : undefined));
      expect(late.got[0]!.data).toMatchObject({ amiProgress: { id: creationId, status: 'IN_PROGRESS' } });
      expect(first.got).toContainEqual(late.got[0]);
      expect(t.app.cohorts.stats.cohorts).toBe(1);
      await late.stop();
    } finally {
      await first.stop();
    }
  });

  it('keeps streaming to the others when some leave, and ends the execution when the last leaves', async () => {
    const subs = Array.from({ length: 10 }, () => wsSubscriber(PROGRESS, { id: creationId }));
    await eventually(() => (subs.every((s) => s.got.length > 0) ? true : undefined));
    await stopAll(subs.slice(0, 5));
    const stayed = subs.slice(5);
    const windows = await nextEvents(stayed, 2);
    for (const w of windows) expect(w.length).toBeGreaterThanOrEqual(2);
    expect(t.app.cohorts.stats.cohorts).toBe(1);
    await stopAll(stayed);
    await eventually(() => (t.app.cohorts.stats.cohorts === 0 ? true : undefined));
  });

  it('runs other documents, variables and users in cohorts of their own; another user gets its own authorization answer', async () => {
    const watch = vi.spyOn(t.app.services.creations, 'watch');
    const bob = await t.tokenFor('bob');
    const subs = [
      wsSubscriber(PROGRESS, { id: creationId }),
      wsSubscriber(PROGRESS, { id: creationId }),
      wsSubscriber(OTHER_SELECTION, { id: creationId }),
      wsSubscriber(PROGRESS, { id: otherCreationId }),
    ];
    const intruder = wsSubscriber(PROGRESS, { id: creationId }, bob);
    try {
      await eventually(() => (subs.every((s) => s.got.length > 0) ? true : undefined));
      await eventually(() => (intruder.errors.length > 0 ? true : undefined));
      expect(watch).toHaveBeenCalledTimes(4);
      expect(t.app.cohorts.stats.cohorts).toBe(3);
      expect(Object.keys((subs[2]!.got[0]!.data as { amiProgress: object }).amiProgress)).toEqual(['id', 'progress']);
      expect(subs[3]!.got[0]!.data).toMatchObject({ amiProgress: { id: otherCreationId } });
      // Bob's own execution: A's creation is not his to see (the same answer as without cohorts).
      expect(intruder.errors).toEqual([[{ message: `No creation ${creationId}`, extensions: { code: 'CREATION_NOT_FOUND' } }]]);
      expect(intruder.got).toEqual([]);
    } finally {
      watch.mockRestore();
      await stopAll([...subs, intruder]);
    }
  });

  it('shares one execution among SSE subscribers too, apart from graphql-ws ones', async () => {
    const watch = vi.spyOn(t.app.services.creations, 'watch');
    const sse = Array.from({ length: 10 }, () => sseSubscriber(PROGRESS, { id: creationId }));
    const ws = wsSubscriber(PROGRESS, { id: creationId });
    try {
      await eventually(() => (sse.every((s) => s.got.length > 0) && ws.got.length > 0 ? true : undefined));
      expect(watch).toHaveBeenCalledTimes(2);
      expect(t.app.cohorts.stats.cohorts).toBe(2);
      await ws.stop();
      await eventually(() => (t.app.cohorts.stats.cohorts === 1 ? true : undefined));
      const windows = await nextEvents(sse, 2);
      for (const w of windows) expect(w).toEqual(windows[0]);
      for (const s of sse) expect(s.errors).toEqual([]);
    } finally {
      watch.mockRestore();
      await stopAll([...sse, ws]);
    }
  });
});
