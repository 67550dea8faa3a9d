/**
 * The simulator's runtime: mutable configuration (faults can change while it runs), the clock and
 * the random source (both injectable), and the world of per-region stores, seeded on first use.
 */
import { seedRegion } from './seed.js';
import type { RegionStore } from './state.js';

export interface SimConfig {
  speedGiBPerSecond: number;
  throttleRate: number;
  failRate: number;
  blockPublicAccess: boolean;
  /** EC2's per-category token buckets (off by default: tests and demos want determinism). */
  tokenBucket: boolean;
  /** Copies in progress per destination region beyond which CopyImage answers ResourceLimitExceeded. */
  maxConcurrentCopies: number;
}

export interface Runtime {
  accountId: string;
  config: SimConfig;
  now: () => number;
  random: () => number;
  /** Created regions; the rest are seeded lazily by `region()`. */
  regions: Map<string, RegionStore>;
  region(name: string): RegionStore;
}

export function createRuntime(args: {
  accountId: string;
  config: SimConfig;
  now: () => number;
  random: () => number;
  regions?: Map<string, RegionStore>;
}): Runtime {
  const regions = args.regions ?? new Map<string, RegionStore>();
  return {
    accountId: args.accountId,
    config: args.config,
    now: args.now,
    random: args.random,
    regions,
    region(name) {
      let store = regions.get(name);
      if (!store) regions.set(name, (store = seedRegion(name, args.now())));
      return store;
    },
  };
}

/** What an action handler sees: the runtime plus the region the request was signed for. */
export interface ActionContext {
  rt: Runtime;
  regionName: string;
  store: RegionStore;
  now: number;
}
