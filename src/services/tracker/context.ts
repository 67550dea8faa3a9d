// Responsible for what the tracker's steps share within and across ticks: their collaborators,
// the time limits, the per-region backoff after EC2 failures, the per-tick budget of
// snapshot-tagging calls, and the queues of copies behind EC2's copy limit (copy-queue.ts).
import type { Logger } from 'pino';
import type { ServiceDeps } from '../context.js';
import { isThrottling } from '../ec2/errors.js';
import type { CopyQueues } from './copy-queue.js';

export const TWO_HOURS = 2 * 60 * 60 * 1000;
/**
 * Snapshot-tagging CreateTags calls per region and tick. EC2 refills its bucket for mutating calls at
 * about 5 per second after a burst of ~200: a thousand creations started together would otherwise
 * send a thousand CreateTags in their first tick and be throttled. The rest wait for later ticks.
 */
const SNAPSHOT_TAG_CALLS_PER_TICK = 40;
const MAX_BACKOFF_MS = 5 * 60 * 1000;

export interface TrackerSettings {
  intervalMs: number;
  /** Creations not finished by then end FAILED (never less than 2 hours). */
  maxDurationMs: number;
  /** How long "not found" right after CreateImage/CopyImage means "not visible yet". */
  notVisibleGraceMs: number;
  /** Wait this long after an unconfirmed CreateImage before asking again. */
  reRequestAfterMs: number;
}

export interface TrackerContext {
  deps: ServiceDeps;
  log: Logger;
  settings: TrackerSettings;
  regions: RegionBackoff;
  tagBudget: TagBudget;
  /** The copies waiting behind EC2's limit of concurrent copies, one queue per destination region. */
  copyQueues: CopyQueues;
}

export interface RegionBackoff {
  /** Whether EC2 may be asked about the region now. */
  ready(region: string): boolean;
  /** A call to the region failed: wait longer and longer (with jitter) before the next. */
  failed(region: string, err: unknown): void;
  /** A call to the region succeeded: no more waiting. */
  succeeded(region: string): void;
}

export function createRegionBackoff(deps: Pick<ServiceDeps, 'clock'>, log: Logger, intervalMs: number): RegionBackoff {
  const backoff = new Map<string, { until: number; failures: number }>();
  return {
    ready(region) {
      const b = backoff.get(region);
      return !b || b.until <= deps.clock.now();
    },
    failed(region, err) {
      const failures = (backoff.get(region)?.failures ?? 0) + 1;
      const base = retryDelay(intervalMs, failures);
      const delay = Math.round(base * (0.5 + Math.random()));
      backoff.set(region, { until: deps.clock.now() + delay, failures });
      log.warn(
        { region, err: err instanceof Error ? err.message : err, throttled: isThrottling(err), backoffMs: delay, failures },
        'EC2 describe failed; backing off this region',
      );
    },
    succeeded(region) {
      backoff.delete(region);
    },
  };
}

export interface TagBudget {
  /** Take one snapshot-tagging call for the region; false when this tick's budget is spent. */
  take(region: string): boolean;
  /** A new tick: every region's budget is full again. */
  refill(): void;
}

export function createTagBudget(): TagBudget {
  const used = new Map<string, number>();
  return {
    take(region) {
      const n = used.get(region) ?? 0;
      if (n >= SNAPSHOT_TAG_CALLS_PER_TICK) return false;
      used.set(region, n + 1);
      return true;
    },
    refill: () => used.clear(),
  };
}

/** Exponential wait between retries, capped at five minutes. */
export function retryDelay(intervalMs: number, failures: number): number {
  return Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS);
}
