// Responsible for HTTP dispatch on the one server: every request gets its request id first (answered
// back, and the scope of every log line written while it is handled) and its access log line; then
// /health, the routes beside /graphql tried in order, and yoga for the rest, behind the body limit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestScope, type RequestScope } from '../logger.js';
import type { AccessLog } from './access-log.js';
import { answerRefusedBody, bodyLimitProblem, type BodyLimitError } from './body-limit.js';
import { assignRequestId } from './request-id.js';
import { GRAPHQL_PATH, type Yoga } from './yoga.js';

export const HEALTH_PATH = '/health';

/** A route beside /graphql; it returns true when it answered the request. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface RouterOptions {
  yoga: Yoga;
  /** Read on every request, so routes added after the server is built (the REST adapter, which needs its yoga) count. */
  routes: readonly HttpRoute[];
  maxBodyBytes: number;
  /** Extra liveness facts for /health (e.g. the tracker's state). */
  health?: () => Record<string, unknown>;
  accessLog?: AccessLog;
}

export function createRouter(options: RouterOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const scope: RequestScope = { requestId: assignRequestId(req, res) };
    options.accessLog?.request(req, res, scope);
    requestScope.run(scope, () => dispatch(options, req, res));
  };
}

export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function dispatch(options: RouterOptions, req: IncomingMessage, res: ServerResponse): void {
  const path = pathOf(req);
  if (path === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', ...options.health?.() }));
    return;
  }
  if (path !== GRAPHQL_PATH && options.routes.length) {
    void routeOrFallback(req, res, options.routes, () => fallback(options, req, res, path));
    return;
  }
  fallback(options, req, res, path);
}

async function routeOrFallback(
  req: IncomingMessage,
  res: ServerResponse,
  routes: readonly HttpRoute[],
  fallback: () => void,
): Promise<void> {
  try {
    for (const route of routes) if (await route(req, res)) return;
    fallback();
  } catch {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error' }));
  }
}

function fallback(options: RouterOptions, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (path === '/' && req.method === 'GET') {
    res.writeHead(302, { location: GRAPHQL_PATH });
    res.end();
    return;
  }
  // yoga buffers the body without counting it, so it may only read what the limit allows.
  const refused = req.method === 'POST' ? bodyLimitProblem(req, options.maxBodyBytes, { lengthRequired: true }) : undefined;
  if (refused) return rejectBody(req, res, refused, options.maxBodyBytes);
  void options.yoga.handle(req, res);
}

function rejectBody(req: IncomingMessage, res: ServerResponse, refused: BodyLimitError, maxBodyBytes: number): void {
  void answerRefusedBody(req, res, maxBodyBytes, {
    status: refused.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ errors: [{ message: refused.message, extensions: { code: refused.code } }] }),
  });
}
