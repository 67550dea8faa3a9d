/**
 * Responsible for deciding whether a request is throttled: by the configured random rate, and,
 * when enabled, by EC2's request token buckets (one per region and category, refilled continuously).
 *
 * Bucket sizes and refill rates are EC2's published defaults (EC2 developer guide, "Request
 * throttling for the Amazon EC2 API"): mutating actions 200 / 5 per s; non-mutating 100 / 20 per s;
 * unfiltered and unpaginated non-mutating 50 / 10 per s. EC2 also has resource-rate buckets
 * (RunInstances per instance, …), which are not modelled.
 */
import type { Runtime } from './context.js';

interface Bucket {
  tokens: number;
  at: number;
}

const CATEGORIES = {
  mutating: { capacity: 200, refillPerSecond: 5 },
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
} as const;

type Category = keyof typeof CATEGORIES;

function categoryOf(mutating: boolean, input: Record<string, unknown>): Category {
  if (mutating) return 'mutating';
  // "Unfiltered and unpaginated": no filters, no id list, no MaxResults. Any non-empty list counts.
  const scoped = Object.entries(input).some(([key, v]) => key === 'MaxResults' || (Array.isArray(v) && v.length > 0));
  return scoped ? 'nonMutating' : 'unfilteredNonMutating';
}

export interface Throttle {
  /** True when the request may proceed (and takes a token if buckets are on). */
  admit(region: string, mutating: boolean, input: Record<string, unknown>): boolean;
  reset(): void;
}

export function createThrottle(rt: Runtime): Throttle {
  const buckets = new Map<string, Bucket>();
  return {
    admit(region, mutating, input) {
      // Only draw from `random` when a rate is set, so an injected sequence stays predictable.
      if (rt.config.throttleRate > 0 && rt.random() < rt.config.throttleRate) return false;
      if (!rt.config.tokenBucket) return true;
      const category = categoryOf(mutating, input);
      const { capacity, refillPerSecond } = CATEGORIES[category];
      const key = `${region}:${category}`;
      const now = rt.now();
      const b = buckets.get(key) ?? { tokens: capacity, at: now };
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * refillPerSecond);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    reset() {
      buckets.clear();
    },
  };
}
