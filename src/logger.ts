import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The request a piece of work belongs to. server.ts enters it for every HTTP request and every
 * graphql-ws operation, so every log line written on its behalf (resolvers, services, EC2 calls)
 * carries its `requestId` without threading a logger through every call.
 */
export const requestScope = new AsyncLocalStorage<RequestScope>();

export interface RequestScope {
  requestId: string;
  /** Who the request turned out to be, once authenticated (for the access log line; not in every line). */
  user?: string;
}

export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.requestId;
}

/** Records who the current request is, for its access log line. */
export function noteRequestUser(user: string): void {
  const scope = requestScope.getStore();
  if (scope) scope.user = user;
}

/** JSON logs; readable ones when a person is watching the terminal. Tokens are never written. */
export function createLogger(level: string, pretty = process.stdout.isTTY, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.headers.authorization',
        '*.authorization',
        'authorization',
        '*.token',
        'token',
      ],
      censor: '[redacted]',
    },
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
    ...(pretty && !destination
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
