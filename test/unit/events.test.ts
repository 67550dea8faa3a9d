// The local event fan-out: topics kept apart, a bounded buffer that keeps the newest values, the
// first/last listener hooks a shared bus relies on, and subscribers told when the bus is lost.
import { describe, expect, it } from 'vitest';
import { createLocalEventHub, failedSubscription } from '../../src/services/events.js';

describe('local event hub', () => {
  it('keeps only the newest values of a slow subscriber, per topic', async () => {
    const hub = createLocalEventHub<number>();
    const a = hub.subscribe('a', { bufferSize: 2 });
    const b = hub.subscribe('b');
    for (const n of [1, 2, 3]) hub.publish('a', n);
    hub.publish('b', 9);
    expect((await a.next()).value).toBe(2);
    expect((await a.next()).value).toBe(3);
    expect((await b.next()).value).toBe(9);
  });

  it('tells the hooks of a topic’s first and last listener, once each', async () => {
    const calls: string[] = [];
    const hub = createLocalEventHub<number>({
      onFirstListener: (t) => calls.push(`first ${t}`),
      onLastListener: (t) => calls.push(`last ${t}`),
    });
    const one = hub.subscribe('a');
    const two = hub.subscribe('a');
    await one.return?.();
    await one.return?.();
    expect(calls).toEqual(['first a']);
    await two.return?.();
    expect(calls).toEqual(['first a', 'last a']);
  });

  it('on failAll, yields what was buffered, then rejects next() and frees the topic', async () => {
    const last: string[] = [];
    const hub = createLocalEventHub<number>({ onLastListener: (t) => last.push(t) });
    const buffered = hub.subscribe('a');
    const waiting = hub.subscribe('b');
    hub.publish('a', 1);
    const pending = waiting.next();
    hub.failAll(new Error('bus lost'));
    await expect(pending).rejects.toThrow('bus lost');
    expect((await waiting.next()).done).toBe(true);
    expect((await buffered.next()).value).toBe(1);
    await expect(buffered.next()).rejects.toThrow('bus lost');
    expect((await buffered.next()).done).toBe(true);
    expect(last.sort()).toEqual(['a', 'b']);
  });

  it('a failed subscription rejects its first next()', async () => {
    await expect(failedSubscription<number>(new Error('down')).next()).rejects.toThrow('down');
  });
});
