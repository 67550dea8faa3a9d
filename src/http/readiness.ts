// Responsible for GET /ready: whether this instance can do its job now. The database answers and is
// migrated, the event bus is connected, the progress tracker runs and completes ticks, and the EC2 endpoint has answered
// recently: any successful (or throttled) EC2 call counts; when there was none lately, a cheap
// DescribeRegions probe asks, at most every few seconds whatever the number of probers.
// /health (in router.ts) stays the liveness check: it never looks outside the process.
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import { THROTTLING } from '../services/ec2/errors.js';
import type { Ec2CallEvent, TrackerProbe } from './metrics.js';
import { pathOf, type HttpRoute } from './router.js';

export const READY_PATH = '/ready';

export interface ReadinessOptions {
  store: Store;
  eventBus: EventBusProbe;
  tracker: TrackerProbe;
  /** A cheap EC2 call that succeeds when the endpoint is reachable and the credentials work. */
  probeEc2: () => Promise<unknown>;
  pollIntervalMs: number;
  /** An EC2 answer older than this needs a probe (default: 60 s or 3 poll intervals, whichever is longer). */
  ec2MaxAgeMs?: number;
  /** At most one probe per this many ms (default 5 s). */
  probeEveryMs?: number;
  /** How long /ready waits for a probe before answering (default 2 s; the probe goes on). */
  probeWaitMs?: number;
  logger: Logger;
  now?: () => number;
}

/** Where creation events travel: in this process, or through Redis between replicas. */
export interface EventBusProbe {
  kind: 'in-process' | 'redis';
  /** Whether events can be sent and received now. */
  isReady(): boolean;
}

interface Check {
  ok: boolean;
  detail?: string;
  [fact: string]: unknown;
}

export interface ReadyReport {
  ready: boolean;
  reason?: string;
  checks: { database: Check; eventBus: Check; tracker: Check; ec2: Check };
}

export type Readiness = ReturnType<typeof createReadiness>;

/** The options with their defaults, and what readiness has seen of EC2 and the tracker so far. */
interface State {
  options: ReadinessOptions;
  now: () => number;
  log: Logger;
  ec2MaxAgeMs: number;
  probeEveryMs: number;
  probeWaitMs: number;
  trackerStaleMs: number;
  lastAnswerAt?: number;
  lastFailure?: { at: number; action: string; code: string };
  probe?: Promise<void>;
  lastProbeAt: number;
  trackerSeenRunningAt?: number;
}

export function createReadiness(options: ReadinessOptions) {
  const state: State = {
    options,
    now: options.now ?? Date.now,
    log: options.logger.child({ component: 'readiness' }),
    ec2MaxAgeMs: options.ec2MaxAgeMs ?? Math.max(60_000, 3 * options.pollIntervalMs),
    probeEveryMs: options.probeEveryMs ?? 5_000,
    probeWaitMs: options.probeWaitMs ?? 2_000,
    trackerStaleMs: Math.max(60_000, 10 * options.pollIntervalMs),
    lastProbeAt: -Infinity,
  };
  const check = () => checkAll(state);
  return { observeEc2Call: (e: Ec2CallEvent) => observeEc2Call(state, e), check, route: readyRoute(check) };
}

/** A throttled call is an answer too: the endpoint is reachable and the credentials work. */
function observeEc2Call(state: State, e: Ec2CallEvent): void {
  if (e.errorCode === undefined || THROTTLING.has(e.errorCode)) state.lastAnswerAt = state.now();
  else state.lastFailure = { at: state.now(), action: e.action, code: e.errorCode };
}

async function checkAll(state: State): Promise<ReadyReport> {
  const [database, ec2] = await Promise.all([checkDatabase(state.options), checkEc2(state)]);
  const eventBus = checkEventBus(state.options.eventBus);
  const tracker = checkTracker(state);
  const failed = Object.entries({ database, eventBus, tracker, ec2 }).filter(([, c]) => !c.ok);
  return {
    ready: failed.length === 0,
    ...(failed.length ? { reason: failed.map(([name, c]) => `${name}: ${c.detail}`).join('; ') } : {}),
    checks: { database, eventBus, tracker, ec2 },
  };
}

async function checkDatabase({ store }: ReadinessOptions): Promise<Check> {
  const engine = store.dialect;
  try {
    const { expected, applied } = await store.migrations();
    if (applied < expected)
      return { ok: false, engine, detail: `${applied} of ${expected} migrations applied`, migrations: applied };
    return { ok: true, engine, migrations: applied };
  } catch (err) {
    return { ok: false, engine, detail: `database query failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function checkEventBus(bus: EventBusProbe): Check {
  if (bus.isReady()) return { ok: true, kind: bus.kind };
  return { ok: false, kind: bus.kind, detail: 'not connected to Redis (REDIS_URL); reconnecting' };
}

function checkTracker(state: State): Check {
  const { tracker } = state.options;
  if (!tracker.isRunning()) {
    state.trackerSeenRunningAt = undefined;
    return { ok: false, running: false, detail: 'the progress tracker is not running' };
  }
  state.trackerSeenRunningAt ??= state.now();
  const last = tracker.lastTickAt();
  const since = state.now() - (last ?? state.trackerSeenRunningAt);
  const lastTickSecondsAgo = last === undefined ? null : round(since / 1000);
  if (since > state.trackerStaleMs) {
    return {
      ok: false,
      running: true,
      lastTickSecondsAgo,
      detail: `the progress tracker has not completed a tick in ${Math.round(since / 1000)} s`,
    };
  }
  return { ok: true, running: true, lastTickSecondsAgo };
}

async function checkEc2(state: State): Promise<Check> {
  if (!ec2Fresh(state)) {
    const pending = startProbe(state);
    if (pending) await Promise.race([pending, new Promise((r) => setTimeout(r, state.probeWaitMs).unref())]);
  }
  const lastAnswerSecondsAgo = state.lastAnswerAt === undefined ? null : round((state.now() - state.lastAnswerAt) / 1000);
  if (ec2Fresh(state)) return { ok: true, lastAnswerSecondsAgo };
  // EC2's code only: its messages can name accounts and ARNs, and /ready answers anyone.
  const { lastFailure, lastAnswerAt } = state;
  const failure = lastFailure && (lastAnswerAt === undefined || lastFailure.at > lastAnswerAt) ? lastFailure : undefined;
  return {
    ok: false,
    lastAnswerSecondsAgo,
    ...(failure ? { lastError: failure.code } : {}),
    detail: failure
      ? `the EC2 endpoint is failing (${failure.action}: ${failure.code})`
      : state.probe
        ? 'the EC2 endpoint has not answered yet'
        : `no answer from the EC2 endpoint in the last ${Math.round(state.ec2MaxAgeMs / 1000)} s`,
  };
}

function ec2Fresh(state: State): boolean {
  return state.lastAnswerAt !== undefined && state.now() - state.lastAnswerAt <= state.ec2MaxAgeMs;
}

/** One probe at a time, at most one per probeEveryMs; observeEc2Call records its outcome. */
function startProbe(state: State): Promise<void> | undefined {
  if (state.probe) return state.probe;
  if (state.now() - state.lastProbeAt < state.probeEveryMs) return undefined;
  state.lastProbeAt = state.now();
  state.probe = state.options
    .probeEc2()
    .then(
      () => undefined,
      (err: unknown) => state.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'EC2 readiness probe failed'),
    )
    .finally(() => {
      state.probe = undefined;
    });
  return state.probe;
}

function readyRoute(check: () => Promise<ReadyReport>): HttpRoute {
  return async (req, res) => {
    if (pathOf(req) !== READY_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'Use GET' } }));
      return true;
    }
    const report = await check();
    res.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status: report.ready ? 'ready' : 'not_ready', ...report }));
    return true;
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
