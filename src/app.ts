// Builds the whole server from a Config: database, EC2 gateway (and the simulator behind it when
// configured), services, progress tracker, GraphQL over HTTP/SSE/WebSocket. Returns { start, stop }.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';
import { createDashboardRoute } from './http/dashboard.js';
import { createMetrics, type Ec2CallEvent } from './http/metrics.js';
import { createReadiness } from './http/readiness.js';
import { createRestApi } from './http/rest.js';
import type { CreationRecord } from './db/creations.js';
import { schema } from './schema/index.js';
import { createGraphqlServer, type HttpRoute } from './server.js';
import { systemClock, type Clock, type ServiceDeps } from './services/context.js';
import { createEc2Gateway } from './services/ec2/gateway.js';
import { startSimulator, type RunningSimulator } from './services/ec2/simulator/index.js';
import { createEventHub } from './services/events.js';
import { createServices } from './services/index.js';
import { createProgressTracker } from './services/tracker/index.js';
import { createReconciler } from './services/reconciler.js';
import { createRegionDirectory } from './services/regions.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

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

export async function buildApp(config: Config, logger: Logger, overrides: AppOverrides = {}) {
  const metrics = createMetrics(config.metrics);
  const database = openDatabase(config.databasePath);
  metrics.instrumentSqlite(database.sqlite);

  let simulator: RunningSimulator | undefined;
  let endpoint = config.ec2Endpoint;
  let credentials = overrides.credentials;
  if (config.ec2Backend === 'simulator') {
    simulator = await startSimulator({
      ...(config.simulator.speedGiBPerSecond ? { speedGiBPerSecond: config.simulator.speedGiBPerSecond } : {}),
      throttleRate: config.simulator.throttleRate,
      failRate: config.simulator.failRate,
      blockPublicAccess: config.simulator.blockPublicAccess,
      ...(config.simulator.statePath ? { statePath: config.simulator.statePath } : {}),
      logger: logger.child({ component: 'simulator' }),
    });
    endpoint = simulator.url;
    // The simulator does not check signatures; fixed credentials keep the SDK from searching for real ones.
    credentials = { accessKeyId: 'prism-ami-simulator', secretAccessKey: 'prism-ami-simulator' };
  }

  const ec2Log = logger.child({ component: 'ec2' });
  // Metrics and readiness (built below, once the tracker exists) watch every EC2 call.
  const ec2Observers: ((e: Ec2CallEvent) => void)[] = [
    (e) => ec2Log.debug(e, 'ec2 call'),
    (e) => metrics.observeEc2Call(e),
  ];
  const ec2 = createEc2Gateway({
    endpoint,
    credentials,
    defaultRegion: config.region,
    onCall: (e) => {
      for (const observe of ec2Observers) observe(e);
    },
  });
  const clock = overrides.clock ?? systemClock;
  const deps: ServiceDeps = {
    db: database.db,
    ec2,
    events: createEventHub<CreationRecord>(),
    regions: createRegionDirectory({ ec2, logger, now: () => clock.now() }),
    clock,
    logger,
    sourceRegion: config.region,
    inFlight: new Set(),
  };
  const services = createServices(deps, { version: VERSION, backend: config.ec2Backend });
  const tracker = createProgressTracker(deps, {
    onTick: (_report, durationMs) => metrics.observeTick(durationMs),
    intervalMs: config.pollIntervalMs,
    ...(overrides.trackerMaxDurationMs ? { maxDurationMs: overrides.trackerMaxDurationMs } : {}),
  });
  const reconciler = createReconciler(deps, {
    intervalMs: overrides.reconcileIntervalMs ?? config.pollIntervalMs * 30,
  });
  const readiness = createReadiness({
    db: database.db,
    sqlite: database.sqlite,
    tracker,
    probeEc2: () => ec2.describeRegions(),
    pollIntervalMs: config.pollIntervalMs,
    logger,
    ...overrides.readiness,
  });
  ec2Observers.push((e) => readiness.observeEc2Call(e));
  metrics.watch({ db: database.db, tracker, pollIntervalMs: config.pollIntervalMs });
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
  });
  // The REST adapter runs its operations through this server's yoga; the dashboard serves the rest.
  routes.push(createRestApi({ yoga: server.yoga, maxBodyBytes: config.security.maxBodyBytes, logger }), createDashboardRoute());

  let url: string | undefined;
  let signInUrl: string | undefined;
  let stopping: Promise<void> | undefined;

  return {
    services,
    tracker,
    reconciler,
    yoga: server.yoga,
    deps,
    metrics,
    readiness,
    simulator,
    /** The dashboard URL with the local user's token, once started (Jupyter-style sign-in). */
    signInUrl: () => signInUrl,
    async start(): Promise<string> {
      url = await server.listen(config.port, config.host);
      tracker.start();
      reconciler.start();
      const local = config.localTokenPath ? services.auth.ensureLocalToken(config.localTokenPath) : undefined;
      logger.info(
        {
          url,
          ec2Backend: config.ec2Backend,
          ec2Endpoint: endpoint ?? 'AWS default endpoints',
          region: config.region,
          database: config.databasePath,
          pollIntervalMs: config.pollIntervalMs,
        },
        `prism-ami listening on ${url}`,
      );
      if (local) {
        // The structured log never carries a token; main.ts prints the sign-in URL to the terminal.
        signInUrl = `${new URL('/', url).href}?token=${local.token}`;
        logger.info(
          `${local.created ? 'Created a token for user "local" in' : 'The token for user "local" is in'} ${config.localTokenPath} (mode 0600)`,
        );
      }
      if (simulator) {
        logger.info(
          `EC2 backend: built-in simulator at ${simulator.url} (${config.ec2BackendReason}); no AWS calls are made`,
        );
      } else {
        logger.info(`EC2 backend: ${endpoint ?? 'AWS'} in ${config.region} (${config.ec2BackendReason})`);
      }
      return url;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        await tracker.stop();
        await reconciler.stop();
        await server.close();
        ec2.destroy();
        await simulator?.stop();
        database.close();
        logger.info('prism-ami stopped');
      })();
      return stopping;
    },
  };
}
