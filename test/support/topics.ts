// For streams with no first value to wait for (amiCreationChanges, amiChanges): resolves once the
// app subscribed the topics on its event hub (and Redis confirmed them, on the Redis bus), so a
// change the test makes afterwards cannot be published before anyone listens.
import type { App } from '../../src/app.js';
import type { RedisEventHub } from '../../src/redis/event-hub.js';

/** Resolves once `app` subscribed each of `topics` (a topic named twice: two subscriptions to it). */
export function topicsSubscribed(app: App, ...topics: string[]): Promise<void> {
  const events = app.deps.events;
  const original = events.subscribe.bind(events);
  const waiting = [...topics];
  const confirmed: Promise<void>[] = [];
  return new Promise((resolve) => {
    events.subscribe = (name, options) => {
      const iterator = original(name, options);
      const at = waiting.indexOf(name);
      if (at >= 0) {
        waiting.splice(at, 1);
        const bus = events as Partial<RedisEventHub<unknown>>;
        confirmed.push(bus.ready ? bus.ready(name) : Promise.resolve());
        if (waiting.length === 0) {
          events.subscribe = original;
          void Promise.all(confirmed).then(() => resolve());
        }
      }
      return iterator;
    };
  });
}
