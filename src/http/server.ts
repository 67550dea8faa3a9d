// Responsible for putting the network surface together: one node HTTP server on one port, answered
// by the router (HTTP and SSE) and shared by graphql-ws (WebSocket upgrades on /graphql), so every
// transport sees the same yoga, and the order in which they shut down.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionLimiter } from '../services/connection-limits.js';
import type { AccessLog } from './access-log.js';
import { streamCapsPlugin } from './connection-caps.js';
import { createCohorts, type CohortHooks, type Cohorts } from './cohorts.js';
import { attachGraphqlWs } from './graphql-ws.js';
import { createRouter, type HttpRoute } from './router.js';
import { sseCohortsPlugin } from './sse-cohorts.js';
import { sseSingleConnectionPlugin } from './sse-single-connection.js';
import { createYogaServer, GRAPHQL_PATH, resultMasker, type Yoga, type YogaOptions } from './yoga.js';

export interface GraphqlServer {
  yoga: Yoga;
  http: Server;
  /** The subscription cohorts graphql-ws shares executions in (their counters: tests, bench). */
  cohorts: Cohorts;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServerOptions extends YogaOptions {
  /** Extra liveness facts for /health (e.g. the tracker's state). */
  health?: () => Record<string, unknown>;
  /**
   * HTTP routes beside /graphql (REST adapter, metrics, the dashboard's assets), tried in order
   * before GraphQL; a handler returns true when it answered the request.
   */
  routes?: HttpRoute[];
  /** Counts WebSocket connections, SSE streams and subscriptions against the caps. */
  limiter: ConnectionLimiter;
  accessLog: AccessLog;
  /** Metrics of the subscription cohorts (members beyond the first, executions, deliveries). */
  cohortHooks?: CohortHooks;
}

export function createGraphqlServer(options: ServerOptions): GraphqlServer {
  const { limiter, accessLog } = options;
  const cohorts = createCohorts(options.cohortHooks);
  // Last: the other plugins' subscribe hooks (caps, metrics) run for every subscriber, then it joins.
  const plugins = [
    streamCapsPlugin(limiter),
    sseSingleConnectionPlugin({ auth: options.auth, limiter }),
    ...(options.plugins ?? []),
    sseCohortsPlugin(cohorts, resultMasker(options.logger)),
  ];
  const yoga = createYogaServer({ ...options, plugins });
  const { maxBodyBytes } = options.security;
  const routes = options.routes ?? [];
  const http = createServer(createRouter({ yoga, routes, maxBodyBytes, health: options.health, accessLog }));
  const ws = attachGraphqlWs({ server: http, yoga, auth: options.auth, maxPayload: maxBodyBytes, limiter, accessLog, cohorts });
  return {
    yoga,
    http,
    cohorts,
    listen: (port, host) => listen(http, port, host),
    async close() {
      await ws.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Resolves with the GraphQL URL once listening (the port the system chose when `port` is 0). */
function listen(http: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      const { port: actual } = http.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolve(`http://${shownHost}:${actual}${GRAPHQL_PATH}`);
    });
  });
}
