// Responsible for GET /ready: whether this instance can do its job now. The database is open and
// migrated, the progress tracker runs and completes ticks, and the EC2 endpoint has answered
// recently: any successful (or throttled) EC2 call counts; when there was none lately, a cheap
// DescribeRegions probe asks, at most every few seconds whatever the number of probers.
// /health (in router.ts) stays the liveness check: it never looks outside the process.
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { THROTTLING } from '../services/ec2/errors.js';
import { migrationState } from './db-stats.js';
import type { Ec2CallEvent, TrackerProbe } from './metrics.js';
import { pathOf, type HttpRoute } from './router.js';

export const READY_PATH = '/ready';

export interface ReadinessOptions {
  db: Db;
  sqlite: Database.Database;
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

interface Check {
  ok: boolean;
  detail?: string;
  [fact: string]: unknown;
}

export interface ReadyReport {
  ready: boolean;
  reason?: string;
  checks: { database: Check; tracker: Check; ec2: Check };
}

export type Readiness = ReturnType<typeof createReadiness>;

export function createReadiness(options: ReadinessOptions) {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: 'readiness' });
  const ec2MaxAgeMs = options.ec2MaxAgeMs ?? Math.max(60_000, 3 * options.pollIntervalMs);
  const probeEveryMs = options.probeEveryMs ?? 5_000;
  const probeWaitMs = options.probeWaitMs ?? 2_000;
  const trackerStaleMs = Math.max(60_000, 10 * options.pollIntervalMs);

  let lastAnswerAt: number | undefined;
  let lastFailure: { at: number; action: string; code: string } | undefined;
  let probe: Promise<void> | undefined;
  let lastProbeAt = -Infinity;
  let trackerSeenRunningAt: number | undefined;

  function observeEc2Call(e: Ec2CallEvent): void {
    if (e.errorCode === undefined || THROTTLING.has(e.errorCode)) lastAnswerAt = now();
    else lastFailure = { at: now(), action: e.action, code: e.errorCode };
  }

  function ec2Fresh(): boolean {
    return lastAnswerAt !== undefined && now() - lastAnswerAt <= ec2MaxAgeMs;
  }

  /** One probe at a time, at most one per probeEveryMs; observeEc2Call records its outcome. */
  function startProbe(): Promise<void> | undefined {
    if (probe) return probe;
    if (now() - lastProbeAt < probeEveryMs) return undefined;
    lastProbeAt = now();
    probe = options
      .probeEc2()
      .then(
        () => undefined,
        (err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'EC2 readiness probe failed'),
      )
      .finally(() => {
        probe = undefined;
      });
    return probe;
  }

  function checkDatabase(): Check {
    if (!options.sqlite.open) return { ok: false, detail: 'the database is closed' };
    try {
      const { expected, applied } = migrationState(options.db);
      if (applied < expected) return { ok: false, detail: `${applied} of ${expected} migrations applied`, migrations: applied };
      return { ok: true, migrations: applied };
    } catch (err) {
      return { ok: false, detail: `database query failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  function checkTracker(): Check {
    if (!options.tracker.isRunning()) {
      trackerSeenRunningAt = undefined;
      return { ok: false, running: false, detail: 'the progress tracker is not running' };
    }
    trackerSeenRunningAt ??= now();
    const last = options.tracker.lastTickAt();
    const since = now() - (last ?? trackerSeenRunningAt);
    const lastTickSecondsAgo = last === undefined ? null : round(since / 1000);
    if (since > trackerStaleMs) {
      return {
        ok: false,
        running: true,
        lastTickSecondsAgo,
        detail: `the progress tracker has not completed a tick in ${Math.round(since / 1000)} s`,
      };
    }
    return { ok: true, running: true, lastTickSecondsAgo };
  }

  async function checkEc2(): Promise<Check> {
    if (!ec2Fresh()) {
      const pending = startProbe();
      if (pending) await Promise.race([pending, new Promise((r) => setTimeout(r, probeWaitMs).unref())]);
    }
    const lastAnswerSecondsAgo = lastAnswerAt === undefined ? null : round((now() - lastAnswerAt) / 1000);
    if (ec2Fresh()) return { ok: true, lastAnswerSecondsAgo };
    // EC2's code only: its messages can name accounts and ARNs, and /ready answers anyone.
    const failure = lastFailure && (lastAnswerAt === undefined || lastFailure.at > lastAnswerAt) ? lastFailure : undefined;
    return {
      ok: false,
      lastAnswerSecondsAgo,
      ...(failure ? { lastError: failure.code } : {}),
      detail: failure
        ? `the EC2 endpoint is failing (${failure.action}: ${failure.code})`
        : probe
          ? 'the EC2 endpoint has not answered yet'
          : `no answer from the EC2 endpoint in the last ${Math.round(ec2MaxAgeMs / 1000)} s`,
    };
  }

  async function check(): Promise<ReadyReport> {
    const database = checkDatabase();
    const tracker = checkTracker();
    const ec2 = await checkEc2();
    const failed = Object.entries({ database, tracker, ec2 }).filter(([, c]) => !c.ok);
    return {
      ready: failed.length === 0,
      ...(failed.length ? { reason: failed.map(([name, c]) => `${name}: ${c.detail}`).join('; ') } : {}),
      checks: { database, tracker, ec2 },
    };
  }

  const route: HttpRoute = async (req, res) => {
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

  return { observeEc2Call, check, route };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
