// Responsible for fan-out of creation changes to live subscribers: id-scoped topics, no listener
// limit warnings with thousands of subscribers, and a bounded buffer per subscriber.
//
// Every event is the creation's full current state, so a slow subscriber loses nothing by
// skipping intermediate states: its buffer keeps the newest few and always the last one.
//
// The same local fan-out serves one process (createEventHub) and a replica fed by a shared bus
// (src/redis/event-hub.ts), which learns when a topic gets its first listener and loses its last.

export interface EventHub<T> {
  publish(topic: string, value: T): void;
  /** Values published on `topic` from now on, until `return()` or the signal aborts. */
  subscribe(topic: string, options?: { signal?: AbortSignal; bufferSize?: number }): AsyncIterableIterator<T>;
}

export interface LocalEventHub<T> extends EventHub<T> {
  /**
   * Ends every open subscription with `error`: each iterator yields what it had buffered, then
   * its next() rejects. For a bus that was lost, so that subscribers are told rather than left silent.
   */
  failAll(error: Error): void;
  /** The same for the subscriptions of one topic (e.g. the bus refused to subscribe it). */
  failTopic(topic: string, error: Error): void;
}

export interface LocalEventHubHooks {
  /** `topic` got its first listener. */
  onFirstListener?(topic: string): void;
  /** `topic` lost its last listener. */
  onLastListener?(topic: string): void;
}

interface Listener<T> {
  push(value: T): void;
  fail(error: Error): void;
}

export function createEventHub<T>(): EventHub<T> {
  return createLocalEventHub<T>();
}

export function createLocalEventHub<T>(hooks: LocalEventHubHooks = {}): LocalEventHub<T> {
  const topics = new Map<string, Set<Listener<T>>>();

  function add(topic: string, listener: Listener<T>): void {
    let set = topics.get(topic);
    if (!set) {
      topics.set(topic, (set = new Set()));
      hooks.onFirstListener?.(topic);
    }
    set.add(listener);
  }

  function remove(topic: string, listener: Listener<T>): void {
    const set = topics.get(topic);
    if (!set?.delete(listener) || set.size > 0) return;
    topics.delete(topic);
    hooks.onLastListener?.(topic);
  }

  return {
    publish(topic, value) {
      const listeners = topics.get(topic);
      if (!listeners) return;
      for (const listener of listeners) listener.push(value);
    },
    subscribe(topic, options = {}) {
      return bufferedSubscription<T>(options, (listener) => {
        add(topic, listener);
        return () => remove(topic, listener);
      });
    },
    failAll(error) {
      for (const listeners of [...topics.values()]) for (const listener of [...listeners]) listener.fail(error);
    },
    failTopic(topic, error) {
      for (const listener of [...(topics.get(topic) ?? [])]) listener.fail(error);
    },
  };
}

/** A subscription whose first next() rejects with `error`: for a bus that cannot subscribe now. */
export function failedSubscription<T>(error: Error): AsyncIterableIterator<T> {
  return bufferedSubscription<T>({}, (listener) => {
    listener.fail(error);
    return () => {};
  });
}

/**
 * One subscriber's iterator: values arrive through the listener `attach` registers; at most
 * `bufferSize` wait (the oldest dropped); `detach` runs once, however the subscription ends.
 */
function bufferedSubscription<T>(
  options: { signal?: AbortSignal; bufferSize?: number },
  attach: (listener: Listener<T>) => () => void,
): AsyncIterableIterator<T> {
  const bufferSize = options.bufferSize ?? 8;
  const buffer: T[] = [];
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  let done = false;
  let failure: Error | undefined;
  // Unset while `attach` runs: a listener may fail at once (failedSubscription), before it is attached.
  let detach: (() => void) | undefined = undefined;

  const close = (): IteratorResult<T> => {
    if (!done) {
      done = true;
      detach?.();
      options.signal?.removeEventListener('abort', onAbort);
      waiting?.resolve({ value: undefined, done: true });
      waiting = undefined;
    }
    return { value: undefined, done: true };
  };
  const onAbort = () => close();

  const listener: Listener<T> = {
    push(value) {
      if (done) return;
      if (waiting) {
        const { resolve } = waiting;
        waiting = undefined;
        resolve({ value, done: false });
        return;
      }
      buffer.push(value);
      if (buffer.length > bufferSize) buffer.shift();
    },
    fail(error) {
      if (done) return;
      // Told once: to the next() that waits, or else to the next() after the buffer.
      const pending = waiting;
      waiting = undefined;
      if (!pending) failure = error;
      close();
      pending?.reject(error);
    },
  };

  detach = attach(listener);
  if (done) detach();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    return() {
      failure = undefined;
      return Promise.resolve(close());
    },
    throw(err?: unknown) {
      close();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
