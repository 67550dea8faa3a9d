// Responsible for /metrics: one prom-client Registry per app (tests build several apps in one
// process), fed by yoga's Prometheus plugin (GraphQL phases, HTTP), our own operation outcomes and
// open subscriptions, the EC2 gateway's onCall hook, a timing wrapper around SQLite statements,
// and gauges read from SQLite and the tracker when Prometheus scrapes.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type Database from 'better-sqlite3';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { CREATION_STATUSES } from '../db/schema.js';
import { bearerToken } from '../services/auth.js';
import { THROTTLING } from '../services/ec2/errors.js';
import { creationsByStatus, trackedCreationsByRegion } from './db-stats.js';
import { pathOf, type HttpRoute } from './router.js';

export const METRICS_PATH = '/metrics';

export interface Ec2CallEvent {
  action: string;
  region: string;
  durationMs: number;
  errorCode?: string;
}

/** The facts about the tracker /metrics reads at scrape time. */
export interface TrackerProbe {
  isRunning(): boolean;
  lastTickAt(): number | undefined;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Operation names come from clients: past this many distinct names, the rest share one label. */
const MAX_OPERATION_NAMES = 100;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SQLITE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25];

export function createMetrics(options: { enabled: boolean; token: string | undefined; now?: () => number }) {
  const registry = new Registry();
  const now = options.now ?? Date.now;

  const operations = new Counter({
    name: 'prism_ami_graphql_operations_total',
    help: 'GraphQL operations executed (after authentication), by name, type and outcome (ok: no GraphQL errors; error: at least one)',
    labelNames: ['operation_name', 'operation_type', 'outcome'] as const,
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: 'prism_ami_graphql_operation_duration_seconds',
    help: 'Execution time of GraphQL operations (subscriptions: until the stream is set up)',
    labelNames: ['operation_name', 'operation_type', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const subscriptionsOpen = new Gauge({
    name: 'prism_ami_subscriptions_open',
    help: 'Subscriptions currently streaming, by transport (ws: graphql-ws, sse: Server-Sent Events, http: other HTTP streaming)',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  for (const transport of ['ws', 'sse']) subscriptionsOpen.set({ transport }, 0);

  const ec2Calls = new Counter({
    name: 'prism_ami_ec2_calls_total',
    help: 'EC2 API calls (after the SDK retries), by action, region and outcome (ok, throttled, error)',
    labelNames: ['action', 'region', 'outcome'] as const,
    registers: [registry],
  });
  const ec2Duration = new Histogram({
    name: 'prism_ami_ec2_call_duration_seconds',
    help: 'EC2 API call latency including SDK retries, by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const sqliteDuration = new Histogram({
    name: 'prism_ami_sqlite_query_duration_seconds',
    help: 'Time SQLite spent executing statements (run: writes; get/all/iterate: reads)',
    labelNames: ['method'] as const,
    buckets: SQLITE_BUCKETS,
    registers: [registry],
  });

  // Scrape-time gauges, bound to the database and tracker by watch().
  let sources: { db: Db; tracker: TrackerProbe; pollIntervalMs: number } | undefined;
  new Gauge({
    name: 'prism_ami_creations',
    help: 'AMI creations in the database, by status',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      const counts = new Map(creationsByStatus(sources.db).map((r) => [r.status, r.count]));
      for (const status of CREATION_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'prism_ami_tracked_creations',
    help: 'Unfinished creations the progress tracker polls, by region (source region while active, copy region while copying)',
    labelNames: ['region'] as const,
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      for (const [region, n] of trackedCreationsByRegion(sources.db)) this.set({ region }, n);
    },
  });
  new Gauge({
    name: 'prism_ami_tracker_running',
    help: '1 while the progress tracker loop runs',
    registers: [registry],
    collect() {
      if (sources) this.set(sources.tracker.isRunning() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'prism_ami_tracker_last_tick_age_seconds',
    help: 'Seconds since the progress tracker last completed a tick (its lag: about the poll interval when healthy)',
    registers: [registry],
    collect() {
      this.reset();
      const last = sources?.tracker.lastTickAt();
      if (last !== undefined) this.set((now() - last) / 1000);
    },
  });
  const tickDuration = new Histogram({
    name: 'prism_ami_tracker_tick_duration_seconds',
    help: 'Duration of one progress tracker tick (batched Describe calls, then advancing every creation)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'prism_ami_tracker_poll_interval_seconds',
    help: 'The progress tracker base poll interval',
    registers: [registry],
    collect() {
      if (sources) this.set(sources.pollIntervalMs / 1000);
    },
  });

  if (options.enabled) collectDefaultMetrics({ register: registry });

  const operationNames = new Set<string>();
  function operationLabels(document: DocumentNode, operationName: string | null | undefined) {
    const op = getOperationAST(document, operationName);
    let name = op?.name?.value ?? 'anonymous';
    if (!operationNames.has(name)) {
      if (operationNames.size < MAX_OPERATION_NAMES) operationNames.add(name);
      else name = 'other';
    }
    return { operation_name: name, operation_type: op?.operation ?? 'unknown' };
  }

  function record(labels: { operation_name: string; operation_type: string }, outcome: 'ok' | 'error', started: number): void {
    const all = { ...labels, outcome };
    operations.inc(all);
    operationDuration.observe(all, (performance.now() - started) / 1000);
  }

  /** Our own view of operations: outcome and open subscriptions, over HTTP, SSE and graphql-ws alike. */
  const operationsPlugin: Plugin = {
    onExecute({ args }) {
      const started = performance.now();
      const labels = operationLabels(args.document as DocumentNode, args.operationName as string | undefined);
      return {
        onExecuteDone({ result }) {
          const failed = isAsyncIterable(result) ? false : Boolean(result.errors?.length);
          record(labels, failed ? 'error' : 'ok', started);
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      const labels = operationLabels(args.document as DocumentNode, args.operationName as string | undefined);
      const transport = transportOf(args.contextValue as unknown as Record<string, unknown>);
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            record(labels, result.errors?.length ? 'error' : 'ok', started);
            return undefined;
          }
          record(labels, 'ok', started);
          subscriptionsOpen.inc({ transport });
          let ended = false;
          return {
            onEnd() {
              if (ended) return;
              ended = true;
              subscriptionsOpen.dec({ transport });
            },
          };
        },
      };
    },
  };

  const yogaPlugins: Plugin[] = options.enabled
    ? [
        usePrometheus({
          registry,
          endpoint: false, // served by our route, behind METRICS and METRICS_TOKEN
          metrics: {
            graphql_envelop_request: true,
            graphql_envelop_request_duration: LATENCY_BUCKETS as [number, ...number[]],
            graphql_envelop_request_time_summary: false,
            graphql_envelop_phase_parse: true,
            graphql_envelop_phase_validate: true,
            graphql_envelop_phase_context: true,
            graphql_envelop_phase_execute: true,
            graphql_envelop_phase_subscribe: true,
            graphql_envelop_error_result: true,
            graphql_envelop_deprecated_field: false,
            graphql_envelop_schema_change: false,
            graphql_yoga_http_duration: LATENCY_BUCKETS as [number, ...number[]],
          },
          // Parse-phase metrics see operations before authentication: a client-chosen operation
          // name would let anyone create series without end (ours are capped, see above). The URL
          // can carry a GraphiQL ?token=, so it is never a label.
          labels: { operationName: false, operationType: true, url: false, path: false, fieldName: false, typeName: false },
        }),
        operationsPlugin,
      ]
    : [];

  const route: HttpRoute = async (req, res) => {
    if (!options.enabled || pathOf(req) !== METRICS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('Method Not Allowed\n');
      return true;
    }
    if (options.token && !bearerMatches(req, options.token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' });
      res.end('Unauthorized: send "Authorization: Bearer <METRICS_TOKEN>"\n');
      return true;
    }
    await sendMetrics(res);
    return true;
  };

  async function sendMetrics(res: ServerResponse): Promise<void> {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(body);
  }

  return {
    enabled: options.enabled,
    registry,
    yogaPlugins,
    route,

    /** For the gateway's onCall hook. */
    observeEc2Call(e: Ec2CallEvent): void {
      if (!options.enabled) return;
      const outcome = e.errorCode === undefined ? 'ok' : THROTTLING.has(e.errorCode) ? 'throttled' : 'error';
      ec2Calls.inc({ action: e.action, region: e.region, outcome });
      ec2Duration.observe({ action: e.action, outcome }, e.durationMs / 1000);
    },

    /** For the tracker's onTick hook. */
    observeTick(durationMs: number): void {
      if (options.enabled) tickDuration.observe(durationMs / 1000);
    },

    /** Binds the scrape-time gauges to the app's database and tracker. */
    watch(s: { db: Db; tracker: TrackerProbe; pollIntervalMs: number }): void {
      sources = s;
    },

    /**
     * Times every statement the app runs: drizzle prepares each query through `prepare`, so wrapping
     * the statement's run/get/all/iterate measures SQLite's own work (not the JS around it).
     * better-sqlite3's internal BEGIN/COMMIT of a transaction are not included.
     */
    instrumentSqlite(sqlite: Database.Database): void {
      if (!options.enabled) return;
      const prepare = sqlite.prepare.bind(sqlite);
      const wrapped = (source: string) => {
        const stmt = prepare(source) as unknown as Record<string, unknown>;
        for (const method of ['run', 'get', 'all', 'iterate'] as const) {
          const original = stmt[method] as ((...a: unknown[]) => unknown) | undefined;
          if (typeof original !== 'function') continue;
          stmt[method] = function timed(this: unknown, ...a: unknown[]) {
            const end = sqliteDuration.startTimer({ method });
            try {
              return original.apply(this, a);
            } finally {
              end();
            }
          };
        }
        return stmt;
      };
      sqlite.prepare = wrapped as unknown as typeof sqlite.prepare;
    },
  };
}

function transportOf(context: Record<string, unknown>): 'ws' | 'sse' | 'http' {
  // graphql-ws operations are enveloped with the socket's context (graphql-ws.ts); HTTP ones carry a Request.
  if ('extra' in context || 'socket' in context) return 'ws';
  const request = context.request as Request | undefined;
  return request?.headers.get('accept')?.includes('text/event-stream') ? 'sse' : 'http';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function bearerMatches(req: IncomingMessage, expected: string): boolean {
  const token = bearerToken(req.headers.authorization);
  if (!token) return false;
  const given = Buffer.from(token);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
