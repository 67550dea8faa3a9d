// Responsible for moving every unfinished creation forward, one tick at a time: finish interrupted
// cancels, resume creations without an AMI id, look at EC2 once per region for everything tracked,
// serve the copies queued behind EC2's copy limit, then advance each creation by what was seen (a
// few at a time, one's failure never blocking the others). Every write goes through the creation
// lifecycle, so a cancel always wins and subscribers always hear of a change.
import { listActiveCreations, type CreationRecord } from '../../db/creations.js';
import type { ServiceDeps } from '../context.js';
import { isTransient } from '../ec2/errors.js';
import { createPeriodic } from '../periodic.js';
import { everyRegion, ownedBy, regionCheck, type RegionLeases } from '../region-leases.js';
import { advance } from './advance.js';
import { createRegionBackoff, createTagBudget, TWO_HOURS, type TrackerContext } from './context.js';
import { createCopyQueues } from './copy-queue.js';
import { serveQueues } from './copying.js';
import { observe } from './observe.js';
import { resumeOrphans, sweepCancelled } from './recovery.js';

export { copyClientToken } from './copying.js';

export interface TrackerOptions {
  intervalMs: number;
  /** Creations not finished by then end FAILED (EC2 can take long; never less than 2 hours). */
  maxDurationMs?: number;
  /** How long "not found" right after CreateImage/CopyImage means "not visible yet". */
  notVisibleGraceMs?: number;
  /** Wait this long after an unconfirmed CreateImage before asking again. */
  reRequestAfterMs?: number;
  /** Which source regions this replica tracks (with replicas, one holds each region); default all. */
  leases?: RegionLeases;
  /** Called after every tick (metrics). */
  onTick?: (report: TickReport, durationMs: number) => void;
}

export interface TickReport {
  /** Creations tracked this tick (active, with an AMI id, no CreateImage under way here). */
  creations: number;
  /** Regions those creations touch (source and copies). */
  regions: number;
  /** EC2 requests the gateway sent while the tick ran (every action, retries of the SDK not counted). */
  ec2Calls: number;
  /** Creations whose state changed. */
  changed: number;
  /** Regions not looked at this tick (backing off, or their Describe calls failed). */
  skippedRegions: string[];
  /** Regions this replica holds: it tracks the creations whose source region is one of them. */
  leasedRegions: string[];
}

/** Creations advanced at once within a tick (their EC2 calls are their own: tags, copies, sharing). */
const ADVANCE_CONCURRENCY = 8;

export type ProgressTracker = ReturnType<typeof createProgressTracker>;

export function createProgressTracker(deps: ServiceDeps, options: TrackerOptions) {
  const log = deps.logger.child({ service: 'progress-tracker' });
  const ctx: TrackerContext = {
    deps,
    log,
    settings: {
      intervalMs: options.intervalMs,
      maxDurationMs: Math.max(TWO_HOURS, options.maxDurationMs ?? TWO_HOURS),
      notVisibleGraceMs: options.notVisibleGraceMs ?? 5 * 60 * 1000,
      reRequestAfterMs: options.reRequestAfterMs ?? 30 * 1000,
    },
    regions: createRegionBackoff(deps, log, options.intervalMs),
    tagBudget: createTagBudget(),
    copyQueues: createCopyQueues(() => deps.clock.now(), options.intervalMs),
  };
  const cancelRetries = new Map<string, { at: number; failures: number }>();
  const leases = options.leases ?? everyRegion();
  let lastTickAt: number | undefined;

  async function tick(): Promise<TickReport> {
    const started = performance.now();
    const report = await tickWork(ctx, cancelRetries, leases);
    lastTickAt = deps.clock.now();
    options.onTick?.(report, performance.now() - started);
    return report;
  }

  // The first tick runs at once, so a restart resumes without waiting.
  const loop = createPeriodic({ intervalMs: options.intervalMs, run: tick, log, failure: 'tracker tick failed' });
  return { start: loop.start, stop: loop.stop, runOnce: loop.runOnce, isRunning: loop.isRunning, lastTickAt: () => lastTickAt };
}

async function tickWork(
  ctx: TrackerContext,
  cancelRetries: Map<string, { at: number; failures: number }>,
  leases: RegionLeases,
): Promise<TickReport> {
  const { deps } = ctx;
  const callsBefore = deps.ec2.callCount();
  ctx.tagBudget.refill();
  // A creation is this replica's while it holds the source region's lease: its copies come with it.
  const owns = regionCheck(leases);
  const mine = (list: CreationRecord[]) => ownedBy(owns, list, (c) => c.sourceRegion);
  await sweepCancelled(ctx, cancelRetries, owns);
  const untouched = (c: CreationRecord) => !deps.inFlight.has(c.id);
  const orphans = await mine((await listActiveCreations(deps.db)).filter((c) => untouched(c) && !c.amiId));
  if (orphans.length) await resumeOrphans(ctx, orphans);
  const tracked = await mine((await listActiveCreations(deps.db)).filter((c) => untouched(c) && c.amiId));
  const obs = await observe(ctx, tracked);
  // Copies queued behind EC2's copy limit go first, oldest first, when their region admits them.
  ctx.copyQueues.beginTick(tracked, obs);
  await serveQueues(ctx, tracked);
  const changed = await advanceAll(ctx, tracked, obs);
  const regions = new Set(tracked.flatMap((c) => [c.sourceRegion, ...c.copies.map((x) => x.region)]));
  return {
    creations: tracked.length,
    regions: regions.size,
    ec2Calls: deps.ec2.callCount() - callsBefore,
    changed,
    skippedRegions: [...obs.unavailable],
    leasedRegions: leases.held(),
  };
}

/** A few creations at a time: one slow call (a CopyImage being retried) does not hold up the rest. */
async function advanceAll(
  ctx: TrackerContext,
  tracked: CreationRecord[],
  obs: Awaited<ReturnType<typeof observe>>,
): Promise<number> {
  let changed = 0;
  const queue = [...tracked];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        if (await advance(ctx, c, obs)) changed++;
      } catch (err) {
        // One creation's failure never blocks the others, nor kills the loop.
        const level = isTransient(err) ? 'warn' : 'error';
        ctx.log[level]({ err, creationId: c.id, stage: c.stage }, 'advancing a creation failed; will retry next tick');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ADVANCE_CONCURRENCY, queue.length) }, worker));
  return changed;
}
