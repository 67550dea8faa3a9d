// Builds the whole server from a Config: database, EC2 gateway (and the simulator behind it when
// configured), services, progress tracker and reconciler, GraphQL over HTTP/SSE/WebSocket, and the
// routes beside it. Returns { start, stop } with the parts tests and benchmarks look into.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { startSimulator, type RunningSimulator } from '../simulator/index.js';
import type { Config } from './config.js';
import { describeUrl, openStore, type Store } from './db/store.js';
import { createAccessLog } from './http/access-log.js';
import { createDashboardRoute } from './http/dashboard.js';
import { createMetrics, type Ec2CallEvent, type Metrics } from './http/metrics.js';
import { createReadiness, type EventBusProbe } from './http/readiness.js';
import { createRestApi } from './http/rest.js';
import type { HttpRoute } from './http/router.js';
import { createGraphqlServer } from './http/server.js';
import { schema } from './schema/index.js';
import type { AuthService } from './services/auth.js';
import { createConnectionLimiter, type ConnectionLimiter } from './services/connection-limits.js';
import { systemClock, type Clock, type LiveRecord, type ServiceDeps } from './services/context.js';
import type { CreationReservations } from './services/creation-cap.js';
import { createEc2Gateway } from './services/ec2/gateway.js';
import { createEventHub, type EventHub } from './services/events.js';
import { createServices } from './services/index.js';
import type { RateLimiter } from './services/rate-limit.js';
import { createReconciler } from './services/reconciler.js';
import { everyRegion, type RegionLeases } from './services/region-leases.js';
import { createRegionDirectory } from './services/regions.js';
import { createSsmGateway } from './services/ssm/gateway.js';
import { createProgressTracker } from './services/tracker/index.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export interface AppOverrides {
  clock?: Clock;
  /** Credentials for an explicit endpoint (tests against moto). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  trackerMaxDurationMs?: number;
  /** How often AMIs are checked against EC2 (default: every 30 tracker intervals). */
  reconcileIntervalMs?: number;
  /** /ready tuning (tests): how old an EC2 answer may be, how often to probe, how long to wait for a probe. */
  readiness?: { ec2MaxAgeMs?: number; probeEveryMs?: number; probeWaitMs?: number };
}

export type App = Awaited<ReturnType<typeof buildApp>>;

interface Ec2Backend {
  simulator: RunningSimulator | undefined;
  endpoint: string | undefined;
  /** The simulator serves SSM on its EC2 endpoint; otherwise the configured one (or the SDK's). */
  ssmEndpoint: string | undefined;
  credentials: AppOverrides['credentials'];
}

/** The simulator, started in-process on a loopback port when configured; otherwise the configured endpoint. */
async function startEc2Backend(config: Config, logger: Logger, overrides: AppOverrides): Promise<Ec2Backend> {
  if (config.ec2Backend !== 'simulator') {
    return {
      simulator: undefined,
      endpoint: config.ec2Endpoint,
      ssmEndpoint: config.ssmEndpoint,
      credentials: overrides.credentials,
    };
  }
  const simulator = await startSimulator({
    ...(config.simulator.speedGiBPerSecond ? { speedGiBPerSecond: config.simulator.speedGiBPerSecond } : {}),
    throttleRate: config.simulator.throttleRate,
    failRate: config.simulator.failRate,
    blockPublicAccess: config.simulator.blockPublicAccess,
    ...(config.simulator.maxConcurrentCopies ? { maxConcurrentCopies: config.simulator.maxConcurrentCopies } : {}),
    ...(config.simulator.statePath ? { statePath: config.simulator.statePath } : {}),
    logger: logger.child({ component: 'simulator' }),
  });
  // The simulator does not check signatures; fixed credentials keep the SDK from searching for real ones.
  const credentials = { accessKeyId: 'prism-ami-simulator', secretAccessKey: 'prism-ami-simulator' };
  return { simulator, endpoint: simulator.url, ssmEndpoint: simulator.url, credentials };
}

/** The gateway, with every call seen by the log, the metrics and (added once built) readiness. */
function createObservedGateway(config: Config, logger: Logger, backend: Ec2Backend, metrics: Metrics) {
  const ec2Log = logger.child({ component: 'ec2' });
  const observers: ((e: Ec2CallEvent) => void)[] = [(e) => ec2Log.debug(e, 'ec2 call'), (e) => metrics.observeEc2Call(e)];
  const ec2 = createEc2Gateway({
    endpoint: backend.endpoint,
    credentials: backend.credentials,
    defaultRegion: config.region,
    onCall: (e) => {
      for (const observe of observers) observe(e);
    },
  });
  return { ec2, observe: (observer: (e: Ec2CallEvent) => void) => observers.push(observer) };
}

/**
 * What replicas must share at once: creation events, the mutation rate limit and the caps. In
 * Redis when REDIS_URL is set; otherwise in this process (one replica).
 */
interface SharedState {
  events: EventHub<LiveRecord>;
  limiter: ConnectionLimiter;
  rateLimiter?: RateLimiter;
  reservations?: CreationReservations;
  eventBus: EventBusProbe;
  stop(): Promise<void>;
}

async function createSharedState(config: Config, logger: Logger, metrics: Metrics): Promise<SharedState> {
  const onRefusal = (limit: Parameters<Metrics['observeRefusal']>[0]) => metrics.observeRefusal(limit);
  if (!config.redis) {
    return {
      events: createEventHub<LiveRecord>(),
      limiter: createConnectionLimiter(config.limits, onRefusal),
      eventBus: { kind: 'in-process', isReady: () => true },
      stop: () => Promise.resolve(),
    };
  }
  const { createRedisScaleOut } = await import('./redis/index.js');
  const redis = await createRedisScaleOut<LiveRecord>({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    replicaId: config.instanceId,
    logger: logger.child({ component: 'redis' }),
    caps: config.limits,
    mutationsPerMinute: config.security.mutationsPerMinute,
    onRefusal,
  });
  return {
    events: redis.events,
    limiter: redis.connectionLimiter,
    rateLimiter: redis.rateLimiter,
    reservations: redis.creationReservations,
    eventBus: { kind: 'redis', isReady: () => redis.isReady() },
    stop: () => redis.stop(),
  };
}

/** Which regions this replica polls: all of them alone, one at a time per region with replicas on PostgreSQL. */
async function createLeases(config: Config, logger: Logger): Promise<Record<'tracker' | 'reconciler', RegionLeases>> {
  if (!config.databaseUrl) return { tracker: everyRegion(), reconciler: everyRegion() };
  const { createPgRegionLeases } = await import('./db/region-leases.js');
  const lease = (scope: 'tracker' | 'reconciler') =>
    createPgRegionLeases({
      connectionString: config.databaseUrl!,
      scope,
      logger: logger.child({ component: `${scope}-leases` }),
      applicationName: `prism-ami ${scope} ${config.instanceId}`,
    });
  return { tracker: lease('tracker'), reconciler: lease('reconciler') };
}

function createServiceDeps(
  config: Config,
  logger: Logger,
  store: Store,
  gateways: Pick<ServiceDeps, 'ec2' | 'ssm'>,
  clock: Clock,
  shared: SharedState,
): ServiceDeps {
  const { ec2, ssm } = gateways;
  return {
    db: store,
    ec2,
    ssm,
    events: shared.events,
    ...(shared.reservations ? { reservations: shared.reservations } : {}),
    regions: createRegionDirectory({ ec2, logger, now: () => clock.now() }),
    clock,
    logger,
    sourceRegion: config.region,
    inFlight: new Set(),
    access: { mode: config.access.instanceAccess, ownerTag: config.access.instanceOwnerTag },
    limits: { maxActiveCreationsPerUser: config.limits.maxActiveCreationsPerUser },
  };
}

async function createBackgroundWork(config: Config, deps: ServiceDeps, metrics: Metrics, overrides: AppOverrides) {
  const leases = await createLeases(config, deps.logger);
  const tracker = createProgressTracker(deps, {
    onTick: (_report, durationMs) => metrics.observeTick(durationMs),
    intervalMs: config.pollIntervalMs,
    leases: leases.tracker,
    ...(overrides.trackerMaxDurationMs ? { maxDurationMs: overrides.trackerMaxDurationMs } : {}),
  });
  const reconciler = createReconciler(deps, {
    intervalMs: overrides.reconcileIntervalMs ?? config.pollIntervalMs * 30,
    leases: leases.reconciler,
  });
  return { tracker, reconciler, leases };
}

export async function buildApp(config: Config, logger: Logger, overrides: AppOverrides = {}) {
  const metrics = createMetrics({ ...config.metrics, instance: config.instanceId });
  const store = await openStore({ databaseUrl: config.databaseUrl, databasePath: config.databasePath });
  metrics.instrumentStore(store);
  // The stores first: one that cannot be reached stops start-up before anything else runs.
  const shared = await createSharedState(config, logger, metrics);
  const backend = await startEc2Backend(config, logger, overrides);
  const { ec2, observe } = createObservedGateway(config, logger, backend, metrics);
  const ssm = createSsmGateway({ endpoint: backend.ssmEndpoint, credentials: backend.credentials });
  const deps = createServiceDeps(config, logger, store, { ec2, ssm }, overrides.clock ?? systemClock, shared);
  const services = createServices(deps, { version: VERSION, backend: config.ec2Backend });
  const { tracker, reconciler, leases } = await createBackgroundWork(config, deps, metrics, overrides);
  const readiness = createReadiness({
    store,
    eventBus: shared.eventBus,
    tracker,
    probeEc2: () => ec2.describeRegions(),
    pollIntervalMs: config.pollIntervalMs,
    logger,
    ...overrides.readiness,
  });
  observe((e) => readiness.observeEc2Call(e));
  const { limiter } = shared;
  metrics.watch({ db: store, tracker, pollIntervalMs: config.pollIntervalMs, limiter });
  const routes: HttpRoute[] = [readiness.route, metrics.route];
  const server = createGraphqlServer({
    schema,
    services,
    auth: services.auth,
    security: config.security,
    logger,
    health: () => ({ tracker: tracker.isRunning() ? 'running' : 'stopped' }),
    routes,
    plugins: metrics.yogaPlugins,
    cohortHooks: metrics.cohortHooks,
    limiter,
    ...(shared.rateLimiter ? { rateLimiter: shared.rateLimiter } : {}),
    accessLog: createAccessLog(logger, config.logRequests),
  });
  // The REST adapter runs its operations through this server's yoga; the dashboard serves the rest.
  routes.push(createRestApi({ yoga: server.yoga, maxBodyBytes: config.security.maxBodyBytes, logger }), createDashboardRoute());

  let signInUrl: string | undefined;
  let stopping: Promise<void> | undefined;
  return {
    services,
    tracker,
    reconciler,
    yoga: server.yoga,
    cohorts: server.cohorts,
    deps,
    metrics,
    readiness,
    limiter,
    simulator: backend.simulator,
    /** The dashboard URL with the local user's token, once started (Jupyter-style sign-in). */
    signInUrl: () => signInUrl,
    async start(): Promise<string> {
      const url = await server.listen(config.port, config.host);
      tracker.start();
      reconciler.start();
      signInUrl = await logStart(config, logger, url, backend, services.auth);
      return url;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        await tracker.stop();
        await reconciler.stop();
        await server.close();
        await Promise.all([leases.tracker.close(), leases.reconciler.close(), shared.stop()]);
        ec2.destroy();
        ssm.destroy();
        await backend.simulator?.stop();
        await store.close();
        logger.info('prism-ami stopped');
      })();
      return stopping;
    },
  };
}

/** The database for logs: SQLite's path, or PostgreSQL's host, port and database (never its password). */
function databaseLabel(config: Config): string {
  return config.databaseUrl ? `PostgreSQL at ${describeUrl(config.databaseUrl)}` : `SQLite at ${config.databasePath}`;
}

/** Where state and events live, and so whether more replicas may join. */
function storesLine(config: Config): string {
  const state = databaseLabel(config);
  if (config.redis) return `State: ${state}; events, rate limits and caps: Redis (replicas share them) as ${config.instanceId}`;
  if (config.databaseUrl) {
    return `State: ${state}; events, rate limits and caps are in-process (REDIS_URL is not set): run one replica only`;
  }
  return `State: ${state}; events in-process (one process)`;
}

/** Says where the server listens and what it talks to; returns the local user's sign-in URL, if any. */
async function logStart(
  config: Config,
  logger: Logger,
  url: string,
  backend: Ec2Backend,
  auth: Pick<AuthService, 'ensureLocalToken'>,
): Promise<string | undefined> {
  const local = config.localTokenPath ? await auth.ensureLocalToken(config.localTokenPath) : undefined;
  logger.info(
    {
      url,
      ec2Backend: config.ec2Backend,
      ec2Endpoint: backend.endpoint ?? 'AWS default endpoints',
      region: config.region,
      database: databaseLabel(config),
      instance: config.instanceId,
      pollIntervalMs: config.pollIntervalMs,
    },
    `prism-ami listening on ${url}`,
  );
  if (backend.simulator) {
    logger.info(
      `EC2 backend: built-in simulator at ${backend.simulator.url} (${config.ec2BackendReason}); no AWS calls are made`,
    );
  } else {
    logger.info(`EC2 backend: ${backend.endpoint ?? 'AWS'} in ${config.region} (${config.ec2BackendReason})`);
  }
  logger.info(storesLine(config));
  if (!local) return undefined;
  // The structured log never carries a token; main.ts prints the sign-in URL to the terminal.
  logger.info(
    `${local.created ? 'Created a token for user "local" in' : 'The token for user "local" is in'} ${config.localTokenPath} (mode 0600)`,
  );
  return `${new URL('/', url).href}?token=${local.token}`;
}
