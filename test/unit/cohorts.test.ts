// The cohort module on its own, with an upstream the test drives: one execution per event for every
// member, the last result replayed to a joiner, leaving, ending, failing, and a slow member.
import type { ExecutionResult } from 'graphql';
import { parse } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  cohortKey,
  createCohorts,
  FramedMember,
  replaysCurrentState,
  type CohortMember,
  type FrameSocket,
  type Membership,
} from '../../src/http/cohorts.js';
import { createLocalEventHub } from '../../src/services/events.js';

/** An upstream fed by `push`, counting how often it was started and whether it was returned. */
function upstream() {
  const hub = createLocalEventHub<ExecutionResult>();
  const state = { starts: 0, returned: 0 };
  const start = () => {
    state.starts++;
    const it = hub.subscribe('t', { bufferSize: 100 });
    const ret = it.return!.bind(it);
    it.return = (v?: unknown) => {
      state.returned++;
      return ret(v);
    };
    return it;
  };
  return { start, state, push: (progress: number) => hub.publish('t', { data: { amiProgress: { progress } } }), hub };
}

function recorder(): CohortMember & { got: string[] } {
  const got: string[] = [];
  return { got, next: (json: string) => got.push(json) };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

async function joined(result: Promise<Membership | ExecutionResult>): Promise<Membership> {
  const m = await result;
  if (!('next' in m)) throw new Error('expected a running cohort');
  return m;
}

describe('cohorts', () => {
  it('runs one upstream for many members and hands each the same serialized string once per event', async () => {
    const cohorts = createCohorts();
    const up = upstream();
    const members = Array.from({ length: 50 }, recorder);
    for (const m of members) await joined(cohorts.join('k', up.start, m, true));
    up.push(1);
    up.push(2);
    await tick();
    expect(up.state.starts).toBe(1);
    expect(cohorts.stats).toMatchObject({ executions: 2, delivered: 100, cohorts: 1 });
    for (const m of members)
      expect(m.got).toEqual(['{"data":{"amiProgress":{"progress":1}}}', '{"data":{"amiProgress":{"progress":2}}}']);
  });

  it('gives a member joining a running cohort its last result first, then the changes', async () => {
    const cohorts = createCohorts();
    const up = upstream();
    const first = recorder();
    await joined(cohorts.join('k', up.start, first, true));
    up.push(1);
    up.push(2);
    await tick();
    const late = recorder();
    await joined(cohorts.join('k', up.start, late, true));
    expect(late.got).toEqual(['{"data":{"amiProgress":{"progress":2}}}']);
    up.push(3);
    await tick();
    expect(
      late.got.map((j) => (JSON.parse(j) as { data: { amiProgress: { progress: number } } }).data.amiProgress.progress),
    ).toEqual([2, 3]);
  });

  it('does not replay to a joiner of a changes-only stream', async () => {
    const cohorts = createCohorts();
    const up = upstream();
    await joined(cohorts.join('k', up.start, recorder(), false));
    up.push(1);
    await tick();
    const late = recorder();
    await joined(cohorts.join('k', up.start, late, false));
    expect(late.got).toEqual([]);
  });

  it('keeps the cohort for the others when one leaves, and returns the upstream when the last leaves', async () => {
    const cohorts = createCohorts();
    const up = upstream();
    const a = recorder();
    const b = recorder();
    const ma = await joined(cohorts.join('k', up.start, a, true));
    const mb = await joined(cohorts.join('k', up.start, b, true));
    const aEnded = ma.next();
    await ma.return(undefined);
    await expect(aEnded).resolves.toMatchObject({ done: true });
    up.push(1);
    await tick();
    expect(a.got).toEqual([]);
    expect(b.got).toHaveLength(1);
    expect(up.state.returned).toBe(0);
    await mb.return(undefined);
    expect(up.state.returned).toBe(1);
    expect(cohorts.stats.cohorts).toBe(0);
    // The next subscriber starts a cohort of its own.
    await joined(cohorts.join('k', up.start, recorder(), true));
    expect(up.state.starts).toBe(2);
  });

  it('rejects every member when the upstream fails, and keeps no cohort', async () => {
    const cohorts = createCohorts();
    const failing = upstream();
    const members = await Promise.all([1, 2].map(() => joined(cohorts.join('k', failing.start, recorder(), true))));
    const ends = members.map((m) => m.next());
    failing.hub.failAll(new Error('bus lost'));
    for (const e of ends) await expect(e).rejects.toThrow('bus lost');
    expect(cohorts.stats.cohorts).toBe(0);
  });

  it('ends every member when the upstream stream finishes', async () => {
    const cohorts = createCohorts();
    async function* two(): AsyncGenerator<ExecutionResult> {
      yield { data: { n: 1 } };
      await tick();
      yield { data: { n: 2 } };
    }
    const a = recorder();
    const b = recorder();
    const [ma, mb] = await Promise.all([joined(cohorts.join('k', two, a, true)), joined(cohorts.join('k', two, b, true))]);
    await expect(ma.next()).resolves.toMatchObject({ done: true });
    await expect(mb.next()).resolves.toMatchObject({ done: true });
    expect(a.got).toEqual(['{"data":{"n":1}}', '{"data":{"n":2}}']);
    expect(b.got).toEqual(a.got);
  });

  it('hands the single result of a subscription that did not start to every member waiting on it, and keeps no cohort', async () => {
    const cohorts = createCohorts();
    let starts = 0;
    const refused = async (): Promise<ExecutionResult> => {
      starts++;
      await tick();
      return { errors: [], data: null };
    };
    const [a, b] = await Promise.all([
      cohorts.join('k', refused, recorder(), true),
      cohorts.join('k', refused, recorder(), true),
    ]);
    expect(a).toEqual({ errors: [], data: null });
    expect(b).toBe(a);
    expect(starts).toBe(1);
    expect(cohorts.stats.cohorts).toBe(0);
  });

  it('flushes what a member held back before its stream ends', async () => {
    const cohorts = createCohorts();
    const sent: string[] = [];
    let held: string | undefined;
    const slow: CohortMember = { next: (json) => (held = json), flush: () => held !== undefined && sent.push(held) };
    async function* one(): AsyncGenerator<ExecutionResult> {
      await tick();
      yield { data: { n: 1 } };
    }
    const m = await joined(cohorts.join('k', one, slow, true));
    await m.next();
    expect(sent).toEqual(['{"data":{"n":1}}']);
  });
});

/** A socket whose queue the test fills and drains (bufferedAmount), recording each frame as text. */
function stalledSocket() {
  const frames: string[] = [];
  const socket = {
    readyState: 1,
    OPEN: 1,
    bufferedAmount: 0,
    send(data: Buffer, options: { binary: false }) {
      expect(options.binary).toBe(false);
      frames.push(data.toString());
      socket.bufferedAmount += data.length;
    },
  } satisfies FrameSocket;
  return { socket, frames, drain: () => (socket.bufferedAmount = 0) };
}

describe('FramedMember', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("frames each member's own head and tail around the same JSON", async () => {
    const cohorts = createCohorts();
    const up = upstream();
    const [a, b] = [stalledSocket(), stalledSocket()];
    await joined(cohorts.join('k', up.start, new FramedMember(a.socket, '{"id":"a","payload":', '}'), false));
    await joined(cohorts.join('k', up.start, new FramedMember(b.socket, '{"id":"b","payload":', '}'), false));
    up.push(1);
    await tick();
    expect(a.frames).toEqual(['{"id":"a","payload":{"data":{"amiProgress":{"progress":1}}}}']);
    expect(b.frames).toEqual(['{"id":"b","payload":{"data":{"amiProgress":{"progress":1}}}}']);
  });

  it('does not let a stalled socket hold up the cohort: past 16 KiB queued it keeps only the newest, and sends it once there is room', () => {
    vi.useFakeTimers();
    const slow = stalledSocket();
    const member = new FramedMember(slow.socket, '<', '>');
    const big = 'x'.repeat(6000);
    for (let i = 0; i < 10; i++) member.next(`"${i}${big}"`, { data: null });
    // 6 KB frames: the first three fill the queue past 16 KiB; the rest wait, newest only.
    expect(slow.frames.map((f) => f[2])).toEqual(['0', '1', '2']);
    vi.advanceTimersByTime(100);
    expect(slow.frames).toHaveLength(3);
    slow.drain();
    vi.advanceTimersByTime(100);
    expect(slow.frames.map((f) => f[2])).toEqual(['0', '1', '2', '9']);
    vi.advanceTimersByTime(100);
    expect(slow.frames).toHaveLength(4);
  });

  it('sends the result it held back before the stream ends', () => {
    const slow = stalledSocket();
    const member = new FramedMember(slow.socket, '', '');
    slow.socket.bufferedAmount = 1 << 20;
    for (let i = 0; i < 10; i++) member.next(String(i), { data: null });
    expect(slow.frames).toEqual([]);
    member.flush();
    expect(slow.frames).toEqual(['9']);
  });
});

describe('cohortKey', () => {
  const doc = parse('subscription($id: ID!) { amiProgress(id: $id) { id progress } }');
  it('is the same for the same document, variables in any order and viewer; another user, admin flag, variable or document is another cohort', () => {
    const key = cohortKey(doc, undefined, { id: '1', x: 2 }, { user: 'a' });
    expect(
      cohortKey(
        parse('subscription($id: ID!) {amiProgress(id:$id){id progress}}'),
        undefined,
        { x: 2, id: '1' },
        { user: 'a', admin: false },
      ),
    ).toBe(key);
    expect(cohortKey(doc, undefined, { id: '1', x: 2 }, { user: 'b' })).not.toBe(key);
    expect(cohortKey(doc, undefined, { id: '1', x: 2 }, { user: 'a', admin: true })).not.toBe(key);
    expect(cohortKey(doc, undefined, { id: '2', x: 2 }, { user: 'a' })).not.toBe(key);
    expect(
      cohortKey(parse('subscription($id: ID!) { amiProgress(id: $id) { id } }'), undefined, { id: '1', x: 2 }, { user: 'a' }),
    ).not.toBe(key);
  });

  it('refuses to share when the viewer carries more than its name and admin flag', () => {
    expect(cohortKey(doc, undefined, {}, { user: 'a', scopes: ['x'] } as never)).toBeUndefined();
  });

  it('replays only for current-state-first fields', () => {
    expect(replaysCurrentState(doc, undefined)).toBe(true);
    expect(replaysCurrentState(parse('subscription { amiChanges { id } }'), undefined)).toBe(false);
  });
});
