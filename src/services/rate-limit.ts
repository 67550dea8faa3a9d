// Responsible for per-key token buckets (e.g. mutations per token): a burst is allowed, then a
// steady rate; keys that stay idle are forgotten so memory does not grow with the user count.

export interface RateLimiter {
  /** true when the call may proceed (and consumes a token). */
  take(key: string): boolean;
  /** Seconds until the next token for `key`. */
  retryAfterSeconds(key: string): number;
}

export function createRateLimiter(options: { perMinute: number; burst: number; now?: () => number }): RateLimiter {
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

  return {
    take(key) {
      if (options.perMinute <= 0) return true;
      const b = refill(key);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    retryAfterSeconds(key) {
      const b = refill(key);
      return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / ratePerMs / 1000);
    },
  };
}
