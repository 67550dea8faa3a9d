// Responsible for the access log: one info line per HTTP request (method, path without its query
// string, status, duration, request id, user once authenticated) and one when a WebSocket opens and
// closes. Never headers, tokens or query strings (a GraphiQL URL can carry ?token=). LOG_REQUESTS=false
// turns every line off.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestScope } from '../logger.js';
import { pathOf } from './router.js';

export interface AccessLog {
  /** Writes the request's line when its response is done (or the client left). */
  request(req: IncomingMessage, res: ServerResponse, scope: RequestScope): void;
  wsOpen(facts: { connectionId: string; user: string }): void;
  wsClose(facts: { connectionId: string; user: string | undefined; openedAt: number; code: number; reason: string }): void;
}

const SILENT: AccessLog = { request: () => undefined, wsOpen: () => undefined, wsClose: () => undefined };

export function createAccessLog(logger: Logger, enabled: boolean): AccessLog {
  if (!enabled) return SILENT;
  const log = logger.child({ component: 'access' });
  return {
    request(req, res, scope) {
      const started = performance.now();
      res.once('close', () => {
        log.info(
          {
            method: req.method,
            path: pathOf(req),
            status: res.statusCode,
            durationMs: round(performance.now() - started),
            requestId: scope.requestId,
            ...(scope.user ? { user: scope.user } : {}),
            // The client left before the whole answer was sent (an SSE stream it closed, for one).
            ...(res.writableFinished ? {} : { aborted: true }),
          },
          'request',
        );
      });
    },
    wsOpen({ connectionId, user }) {
      log.info({ connectionId, requestId: connectionId, user }, 'websocket open');
    },
    wsClose({ connectionId, user, openedAt, code, reason }) {
      const durationMs = round(performance.now() - openedAt);
      log.info({ connectionId, requestId: connectionId, ...(user ? { user } : {}), durationMs, code, reason }, 'websocket close');
    },
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
