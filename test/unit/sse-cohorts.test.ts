// The SSE cohort writer on a yoga of its own with a subscription the test drives: subscribers of one
// document share one execution and receive the same bytes, errors are masked as yoga masks them,
// the stream completes with the upstream, and a subscriber that does not read keeps only the newest.
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createCohorts } from '../../src/http/cohorts.js';
import { sseCohortsPlugin } from '../../src/http/sse-cohorts.js';
import { resultMasker } from '../../src/http/yoga.js';

/** A stream of values the test pushes (or throws, or ends), counting its starts. */
function source() {
  const waiting: ((step: Promise<IteratorResult<unknown>>) => void)[] = [];
  const queued: Promise<IteratorResult<unknown>>[] = [];
  const state = { starts: 0 };
  const deliver = (step: Promise<IteratorResult<unknown>>) => {
    const wake = waiting.shift();
    if (wake) wake(step);
    else queued.push(step);
  };
  const iterable = (): AsyncIterableIterator<unknown> => {
    state.starts++;
    const it: AsyncIterableIterator<unknown> = {
      next: () => queued.shift() ?? new Promise<IteratorResult<unknown>>((r) => waiting.push(r)),
      return: () => Promise.resolve({ done: true, value: undefined }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  };
  return {
    state,
    iterable,
    push: (value: unknown) => deliver(Promise.resolve({ done: false, value })),
    end: () => deliver(Promise.resolve({ done: true, value: undefined })),
    fail: (error: Error) => deliver(Promise.reject(error)),
  };
}

let feed = source();
const cohorts = createCohorts();
const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { ok: Boolean } type Subscription { tick: Int }',
    resolvers: {
      Subscription: {
        tick: {
          subscribe: () => feed.iterable(),
          resolve: (value: unknown) => {
            if (value instanceof Error) throw value;
            return value;
          },
        },
      },
    },
  }),
  context: () => ({ viewer: { user: 'alice' } }),
  plugins: [sseCohortsPlugin(cohorts, resultMasker(pino({ level: 'silent' })))],
  logging: false,
});

afterEach(() => {
  feed.end();
  feed = source();
});

function subscribe(): Promise<Response> {
  return Promise.resolve(
    yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { tick }' }),
    }),
  );
}

/** The response's text until `until` is in it (or it ends). */
async function readUntil(res: Response, until: string): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(until)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

const frames = (text: string) => text.split('\n\n').filter((block) => block.startsWith('event: next'));

describe('SSE cohorts', () => {
  it('runs one execution for every subscriber of the document and pushes each the same bytes', async () => {
    const responses = await Promise.all([subscribe(), subscribe(), subscribe()]);
    expect(responses.map((r) => r.headers.get('content-type'))).toEqual(Array(3).fill('text/event-stream'));
    feed.push(1);
    feed.push(2);
    const texts = await Promise.all(responses.map((r) => readUntil(r, '"tick":2')));
    expect(feed.state.starts).toBe(1);
    for (const text of texts) {
      expect(text.startsWith(':\n\n')).toBe(true);
      expect(frames(text)).toEqual(['event: next\ndata: {"data":{"tick":1}}', 'event: next\ndata: {"data":{"tick":2}}']);
    }
  });

  it('masks an unexpected error once, as yoga does, and sends no http extension', async () => {
    const res = await subscribe();
    feed.push(new Error('the database password is hunter2'));
    feed.push(new GraphQLError('refused', { extensions: { code: 'REFUSED', http: { status: 418 } } }));
    const text = await readUntil(res, 'REFUSED');
    const [unexpected, refused] = frames(text).map((f) => JSON.parse(f.slice('event: next\ndata: '.length)) as Payload);
    expect(unexpected!.errors[0]!.message).toMatch(/^Unexpected error\. \(request id .+\)$/);
    expect(unexpected!.errors[0]!.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    expect(text).not.toContain('hunter2');
    expect(refused!.errors[0]).toMatchObject({ message: 'refused', extensions: { code: 'REFUSED' } });
    expect(refused!.errors[0]!.extensions).not.toHaveProperty('http');
  });

  it('completes every stream when the upstream ends, and keeps no cohort', async () => {
    const responses = await Promise.all([subscribe(), subscribe()]);
    feed.push(7);
    feed.end();
    for (const res of responses) {
      const text = await readUntil(res, 'event: complete');
      expect(text.endsWith('"tick":7}}\n\nevent: complete\ndata:\n\n')).toBe(true);
    }
    expect(cohorts.stats.cohorts).toBe(0);
  });

  it("answers a stream that fails with yoga's masked error to every subscriber, then completes", async () => {
    const responses = await Promise.all([subscribe(), subscribe()]);
    feed.push(1);
    feed.fail(new Error('the upstream broke'));
    for (const res of responses) {
      const text = await readUntil(res, 'event: complete');
      const [, failed] = frames(text).map((f) => JSON.parse(f.slice('event: next\ndata: '.length)) as Payload);
      // Masked by yoga's handler of a failed stream (this yoga has its default masking).
      expect(failed!.errors[0]!.message).toBe('Unexpected error.');
      expect(text).not.toContain('the upstream broke');
      expect(text.endsWith('event: complete\ndata:\n\n')).toBe(true);
    }
    expect(cohorts.stats.cohorts).toBe(0);
  });

  it('keeps only the newest result for a subscriber that does not read, then sends it before completing', async () => {
    const [reading, stalled] = await Promise.all([subscribe(), subscribe()]);
    const count = 500;
    const read = readUntil(reading, `"tick":${count}`);
    for (let i = 1; i <= count; i++) {
      feed.push(i);
      // ~35 bytes a frame: 500 are twice what a member may queue.
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(frames(await read)).toHaveLength(count);
    feed.end();
    const text = await readUntil(stalled, 'event: complete');
    const got = frames(text);
    expect(got.length).toBeLessThan(count);
    expect(got.at(-1)).toBe(`event: next\ndata: {"data":{"tick":${count}}}`);
  });
});

interface Payload {
  errors: { message: string; extensions?: Record<string, unknown> }[];
}
