// Responsible for /metrics: one prom-client Registry per app (tests build several apps in one
// process), fed by yoga's Prometheus plugin (GraphQL phases, HTTP), our own operation outcomes and
// open subscriptions, the EC2 gateway's onCall hook, a timing wrapper around SQLite statements,
// and gauges read from SQLite and the tracker when Prometheus scrapes.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type Database from 'better-sqlite3';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { creationsByStatus, trackedCreationsByRegion } from '../db/stats.js';
import type { Store } from '../db/store.js';
import { CREATION_STATUSES } from '../db/schema.js';
import { bearerToken } from '../services/auth.js';
import type { ConnectionLimiter, LimitName } from '../services/connection-limits.js';
import { THROTTLING } from '../services/ec2/errors.js';
import { SINGLE_CONNECTION_STREAM } from './connection-caps.js';
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

/** What the scrape-time gauges read; bound by watch() once the app has built them. */
interface Sources {
  db: Store;
  tracker: TrackerProbe;
  pollIntervalMs: number;
  limiter?: Pick<ConnectionLimiter, 'counts'>;
}

type Instruments = ReturnType<typeof createInstruments>;

export function createMetrics(options: { enabled: boolean; token: string | undefined; instance?: string; now?: () => number }) {
  const registry = new Registry();
  // Every series names the replica, so that the replicas of one service can be told apart.
  if (options.instance) registry.setDefaultLabels({ instance: options.instance });
  const instruments = createInstruments(registry);
  const scrape: { sources?: Sources } = {};
  registerScrapeGauges(registry, scrape, options.now ?? Date.now);
  if (options.enabled) collectDefaultMetrics({ register: registry });

  return {
    enabled: options.enabled,
    registry,
    yogaPlugins: options.enabled ? [prometheusPlugin(registry), operationsPlugin(instruments)] : [],
    route: metricsRoute(registry, options),

    /** For the gateway's onCall hook. */
    observeEc2Call(e: Ec2CallEvent): void {
      if (!options.enabled) return;
      const outcome = e.errorCode === undefined ? 'ok' : THROTTLING.has(e.errorCode) ? 'throttled' : 'error';
      instruments.ec2Calls.inc({ action: e.action, region: e.region, outcome });
      instruments.ec2Duration.observe({ action: e.action, outcome }, e.durationMs / 1000);
    },

    /** For the tracker's onTick hook. */
    observeTick(durationMs: number): void {
      if (options.enabled) instruments.tickDuration.observe(durationMs / 1000);
    },

    /** For the connection limiter: one more connection or subscription refused by `limit`. */
    observeRefusal(limit: LimitName): void {
      if (options.enabled) instruments.limitRefusals.inc({ limit });
    },

    /**
     * For the subscription cohorts: members beyond a cohort's first (whose execution envelop counts
     * already) are open subscriptions too; and executions and deliveries per transport.
     */
    cohortHooks: {
      onShared(transport: string, delta: number): void {
        // Every SSE subscriber runs envelop's subscribe (cohorts.ts joins inside it): counted there.
        if (options.enabled && transport === 'ws') instruments.subscriptionsOpen.inc({ transport }, delta);
      },
      onDelivered(transport: string, executions: number, messages: number): void {
        if (!options.enabled) return;
        instruments.subscriptionExecutions.inc({ transport }, executions);
        instruments.subscriptionMessages.inc({ transport }, messages);
      },
    },

    /** Binds the scrape-time gauges to the app's database and tracker. */
    watch(s: Sources): void {
      scrape.sources = s;
    },

    /** SQLite statements are timed one by one (PostgreSQL's own statistics cover it there). */
    instrumentStore(store: Store): void {
      if (options.enabled && 'sqlite' in store) timeStatements(store.sqlite as Database.Database, instruments.sqliteDuration);
    },
  };
}

/** The series recorded as things happen (the scrape-time gauges are in registerScrapeGauges). */
function createInstruments(registry: Registry) {
  const registers = [registry];
  const operationLabels = ['operation_name', 'operation_type', 'outcome'] as const;
  const subscriptionsOpen = new Gauge({
    name: 'prism_ami_subscriptions_open',
    help: 'Subscriptions currently streaming, by transport (ws: graphql-ws, sse: Server-Sent Events, http: other HTTP streaming)',
    labelNames: ['transport'] as const,
    registers,
  });
  for (const transport of ['ws', 'sse']) subscriptionsOpen.set({ transport }, 0);
  return {
    operations: new Counter({
      name: 'prism_ami_graphql_operations_total',
      help: 'GraphQL operations executed (after authentication), by name, type and outcome (ok: no GraphQL errors; error: at least one)',
      labelNames: operationLabels,
      registers,
    }),
    operationDuration: new Histogram({
      name: 'prism_ami_graphql_operation_duration_seconds',
      help: 'Execution time of GraphQL operations (subscriptions: until the stream is set up)',
      labelNames: operationLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    subscriptionsOpen,
    subscriptionMessages: new Counter({
      name: 'prism_ami_subscription_messages_total',
      help: 'Subscription results handed to subscribers, one per subscriber (cohorts share one execution per event)',
      labelNames: ['transport'] as const,
      registers,
    }),
    subscriptionExecutions: new Counter({
      name: 'prism_ami_subscription_executions_total',
      help: 'Subscription results executed and serialized, one per event per cohort of subscribers',
      labelNames: ['transport'] as const,
      registers,
    }),
    ec2Calls: new Counter({
      name: 'prism_ami_ec2_calls_total',
      help: 'EC2 API calls (after the SDK retries), by action, region and outcome (ok, throttled, error)',
      labelNames: ['action', 'region', 'outcome'] as const,
      registers,
    }),
    ec2Duration: new Histogram({
      name: 'prism_ami_ec2_call_duration_seconds',
      help: 'EC2 API call latency including SDK retries, by action and outcome',
      labelNames: ['action', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    sqliteDuration: new Histogram({
      name: 'prism_ami_sqlite_query_duration_seconds',
      help: 'Time SQLite spent executing statements (run: writes; get/all/iterate: reads)',
      labelNames: ['method'] as const,
      buckets: SQLITE_BUCKETS,
      registers,
    }),
    limitRefusals: new Counter({
      name: 'prism_ami_limit_refusals_total',
      help: 'Connections (4429, HTTP 429) and subscriptions refused by a cap, by its setting (MAX_CONNECTIONS_PER_USER, MAX_CONNECTIONS, MAX_SUBSCRIPTIONS_PER_USER)',
      labelNames: ['limit'] as const,
      registers,
    }),
    tickDuration: new Histogram({
      name: 'prism_ami_tracker_tick_duration_seconds',
      help: 'Duration of one progress tracker tick (batched Describe calls, then advancing every creation)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

/** Gauges computed when Prometheus scrapes, from SQLite and the tracker; empty until watch(). */
function registerScrapeGauges(registry: Registry, scrape: { sources?: Sources }, now: () => number): void {
  const registers = [registry];
  new Gauge({
    name: 'prism_ami_creations',
    help: 'AMI creations in the database, by status',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      if (!scrape.sources) return;
      const counts = new Map((await creationsByStatus(scrape.sources.db)).map((r) => [r.status, r.count]));
      for (const status of CREATION_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'prism_ami_tracked_creations',
    help: 'Unfinished creations the progress tracker polls, by region (source region while active, copy region while copying)',
    labelNames: ['region'] as const,
    registers,
    async collect() {
      if (!scrape.sources) return;
      const tracked = await trackedCreationsByRegion(scrape.sources.db);
      this.reset();
      for (const [region, n] of tracked) this.set({ region }, n);
    },
  });
  registerLimiterGauges(registry, scrape);
  new Gauge({
    name: 'prism_ami_tracker_running',
    help: '1 while the progress tracker loop runs',
    registers,
    collect() {
      if (scrape.sources) this.set(scrape.sources.tracker.isRunning() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'prism_ami_tracker_last_tick_age_seconds',
    help: 'Seconds since the progress tracker last completed a tick (its lag: about the poll interval when healthy)',
    registers,
    collect() {
      this.reset();
      const last = scrape.sources?.tracker.lastTickAt();
      if (last !== undefined) this.set((now() - last) / 1000);
    },
  });
  new Gauge({
    name: 'prism_ami_tracker_poll_interval_seconds',
    help: 'The progress tracker base poll interval',
    registers,
    collect() {
      if (scrape.sources) this.set(scrape.sources.pollIntervalMs / 1000);
    },
  });
}

/** What the connection limiter counts right now (graphql-ws connections and SSE streams together). */
function registerLimiterGauges(registry: Registry, scrape: { sources?: Sources }): void {
  const registers = [registry];
  const counts = () => scrape.sources?.limiter?.counts();
  new Gauge({
    name: 'prism_ami_connections_open',
    help: 'Connections counted against MAX_CONNECTIONS and MAX_CONNECTIONS_PER_USER: graphql-ws connections and SSE streams',
    registers,
    collect() {
      const c = counts();
      if (c) this.set(c.connections);
    },
  });
  new Gauge({
    name: 'prism_ami_connected_users',
    help: 'Users with at least one connection or subscription open',
    registers,
    collect() {
      const c = counts();
      if (c) this.set(c.users);
    },
  });
}

function prometheusPlugin(registry: Registry): Plugin {
  return usePrometheus({
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
    // name would let anyone create series without end (ours are capped, see MAX_OPERATION_NAMES).
    // The URL can carry a GraphiQL ?token=, so it is never a label.
    labels: { operationName: false, operationType: true, url: false, path: false, fieldName: false, typeName: false },
  });
}

type OperationLabels = { operation_name: string; operation_type: string };

/** Our own view of operations: outcome and open subscriptions, over HTTP, SSE and graphql-ws alike. */
function operationsPlugin(instruments: Instruments): Plugin {
  const labelsOf = operationLabeller();
  const record = (labels: OperationLabels, outcome: 'ok' | 'error', started: number): void => {
    const all = { ...labels, outcome };
    instruments.operations.inc(all);
    instruments.operationDuration.observe(all, (performance.now() - started) / 1000);
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const labels = labelsOf(args.document as DocumentNode, args.operationName as string | undefined);
      return {
        onExecuteDone({ result }) {
          const failed = isAsyncIterable(result) ? false : Boolean(result.errors?.length);
          record(labels, failed ? 'error' : 'ok', started);
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      const labels = labelsOf(args.document as DocumentNode, args.operationName as string | undefined);
      const transport = transportOf(args.contextValue as unknown as Record<string, unknown>);
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            record(labels, result.errors?.length ? 'error' : 'ok', started);
            return undefined;
          }
          record(labels, 'ok', started);
          return countOpen(instruments.subscriptionsOpen, transport);
        },
      };
    },
  };
}

/** The first MAX_OPERATION_NAMES names keep their own label; later ones are 'other'. */
function operationLabeller(): (document: DocumentNode, operationName: string | null | undefined) => OperationLabels {
  const seen = new Set<string>();
  return (document, operationName) => {
    const op = getOperationAST(document, operationName);
    let name = op?.name?.value ?? 'anonymous';
    if (!seen.has(name)) {
      if (seen.size < MAX_OPERATION_NAMES) seen.add(name);
      else name = 'other';
    }
    return { operation_name: name, operation_type: op?.operation ?? 'unknown' };
  };
}

/** One more open subscription until its stream ends (onEnd may be called more than once). */
function countOpen(gauge: Instruments['subscriptionsOpen'], transport: string): { onEnd(): void } {
  gauge.inc({ transport });
  let ended = false;
  return {
    onEnd() {
      if (ended) return;
      ended = true;
      gauge.dec({ transport });
    },
  };
}

function metricsRoute(registry: Registry, options: { enabled: boolean; token: string | undefined }): HttpRoute {
  return async (req, res) => {
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
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(body);
    return true;
  };
}

/**
 * Times every statement the app runs: drizzle prepares each query through `prepare`, so wrapping
 * the statement's run/get/all/iterate measures SQLite's own work (not the JS around it).
 * better-sqlite3's internal BEGIN/COMMIT of a transaction are not included.
 */
function timeStatements(sqlite: Database.Database, histogram: Instruments['sqliteDuration']): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const wrapped = (source: string) => {
    const stmt = prepare(source) as unknown as Record<string, unknown>;
    for (const method of ['run', 'get', 'all', 'iterate'] as const) {
      const original = stmt[method] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof original !== 'function') continue;
      stmt[method] = function timed(this: unknown, ...a: unknown[]) {
        const end = histogram.startTimer({ method });
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
}

function transportOf(context: Record<string, unknown>): 'ws' | 'sse' | 'http' {
  // graphql-ws operations are enveloped with the socket's context (graphql-ws.ts); HTTP ones carry a Request.
  if ('extra' in context || 'socket' in context) return 'ws';
  // An operation of graphql-sse's single connection mode is POSTed as JSON; its results go to the stream.
  if (SINGLE_CONNECTION_STREAM in context) return 'sse';
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
