// Responsible for per-key token buckets (e.g. mutations per token): a burst is allowed, then a
// steady rate; keys that stay idle are forgotten so memory does not grow with the user count.
// Counted in this process; replicas count in Redis behind the same interface (src/redis/rate-limit.ts),
// so callers await take().

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  /**
   * Consumes a token for `key` when one is left, or says how long until the next. Rejects when the
   * shared store is unreachable (see RateLimiterUnavailableError).
   */
  take(key: string): Promise<RateDecision>;
}

export interface RateLimitOptions {
  perMinute: number;
  burst: number;
}

/** The shared store behind a limiter cannot be reached: the caller answers "unavailable", not "allowed". */
export class RateLimiterUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RateLimiterUnavailableError';
  }
}

export function createRateLimiter(options: RateLimitOptions & { now?: () => number }): RateLimiter {
  const now = options.now ?? Date.now;
  const ratePerMs = options.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function refill(key: string): { tokens: number; at: number } {
    const t = now();
    const b = buckets.get(key) ?? { tokens: options.burst, at: t };
    b.tokens = Math.min(options.burst, b.tokens + (t - b.at) * ratePerMs);
    b.at = t;
    buckets.set(key, b);
    if (buckets.size > 10_000) {
      for (const [k, v] of buckets) if (v.tokens >= options.burst) buckets.delete(k);
    }
    return b;
  }

  function take(key: string): RateDecision {
    if (options.perMinute <= 0) return { ok: true };
    const b = refill(key);
    if (b.tokens < 1) return { ok: false, retryAfterSeconds: Math.ceil((1 - b.tokens) / ratePerMs / 1000) };
    b.tokens -= 1;
    return { ok: true };
  }

  return { take: (key) => Promise.resolve(take(key)) };
}

/** The burst the mutation limit allows a token before its steady rate applies. */
export function mutationBurst(perMinute: number): number {
  return Math.max(1, Math.min(perMinute, 20));
}
