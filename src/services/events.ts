// Responsible for fan-out of creation changes to live subscribers: id-scoped topics, no listener
// limit warnings with thousands of subscribers, and a bounded buffer per subscriber.
//
// Every event is the creation's full current state, so a slow subscriber loses nothing by
// skipping intermediate states: its buffer keeps the newest few and always the last one.

export interface EventHub<T> {
  publish(topic: string, value: T): void;
  /** Values published on `topic` from now on, until `return()` or the signal aborts. */
  subscribe(topic: string, options?: { signal?: AbortSignal; bufferSize?: number }): AsyncIterableIterator<T>;
}

export function createEventHub<T>(): EventHub<T> {
  const topics = new Map<string, Set<(value: T) => void>>();

  return {
    publish(topic, value) {
      const listeners = topics.get(topic);
      if (!listeners) return;
      for (const listener of listeners) listener(value);
    },

    subscribe(topic, options = {}) {
      const bufferSize = options.bufferSize ?? 8;
      const buffer: T[] = [];
      let waiting: ((r: IteratorResult<T>) => void) | undefined;
      let done = false;

      const listener = (value: T) => {
        if (waiting) {
          const resolve = waiting;
          waiting = undefined;
          resolve({ value, done: false });
          return;
        }
        buffer.push(value);
        if (buffer.length > bufferSize) buffer.shift();
      };

      const close = (): IteratorResult<T> => {
        if (!done) {
          done = true;
          const set = topics.get(topic);
          set?.delete(listener);
          if (set?.size === 0) topics.delete(topic);
          options.signal?.removeEventListener('abort', onAbort);
          waiting?.({ value: undefined, done: true });
          waiting = undefined;
        }
        return { value: undefined, done: true };
      };
      const onAbort = () => close();

      let set = topics.get(topic);
      if (!set) topics.set(topic, (set = new Set()));
      set.add(listener);
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const iterator: AsyncIterableIterator<T> = {
        next() {
          const value = buffer.shift();
          if (value !== undefined) return Promise.resolve({ value, done: false });
          if (done) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve) => (waiting = resolve));
        },
        return() {
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
    },
  };
}
