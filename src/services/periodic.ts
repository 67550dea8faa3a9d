// Responsible for running a background job over and over: a setTimeout chain (the next run is
// planned when the previous one has ended, so a slow run never piles up), an idempotent start()
// whose first run is at once, an awaiting stop(), and runOnce() for tests and callers, which never
// overlaps a run of the loop. A failed run is logged and the loop goes on; it never crashes.
import type { Logger } from 'pino';

export interface PeriodicOptions<T> {
  intervalMs: number;
  run: () => Promise<T>;
  log: Logger;
  /** What the log says when a run fails. */
  failure: string;
}

export interface Periodic<T> {
  /** Idempotent; the first run is at once. */
  start: () => void;
  /** Ends the loop and waits for a run under way (the loop's or a runOnce()). */
  stop: () => Promise<void>;
  runOnce: () => Promise<T>;
  isRunning: () => boolean;
}

export function createPeriodic<T>(options: PeriodicOptions<T>): Periodic<T> {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  function runOnce(): Promise<T> {
    const next = chain.then(options.run);
    chain = next.catch(() => undefined);
    return next;
  }

  function loop(): void {
    if (!running) return;
    runOnce()
      .catch((err: unknown) => options.log.error({ err }, options.failure))
      .finally(() => {
        if (!running) return;
        timer = setTimeout(loop, options.intervalMs);
        timer.unref?.();
      });
  }

  return {
    start: () => {
      if (running) return;
      running = true;
      loop();
    },
    stop: async () => {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain; // the loop's run, and any runOnce() asked for from outside it
    },
    runOnce,
    isRunning: () => running,
  };
}
