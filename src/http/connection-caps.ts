// Responsible for how the transports answer the connection limiter (src/services/connection-limits.ts):
// an SSE stream takes a connection and a subscription for as long as it streams, and is refused
// with HTTP 429 and a JSON GraphQL error naming the cap; graphql-ws (graphql-ws.ts) closes a socket
// with 4429 and answers a subscription with an `error` message. When the replicas' shared count
// (Redis) cannot be reached, the same paths answer 503 / close 1013. The counting is the limiter's.
import { createRequire } from 'node:module';
import type * as graphql from 'graphql';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import type { ConnectionLimiter, Lease, LimitRefusal } from '../services/connection-limits.js';

/** The WebSocket close code for a refused connection (HTTP 429's sibling in the 4xxx range). */
export const WS_CLOSE_LIMIT = 4429;

/** The close code when the shared count (Redis) cannot be reached: "try again later", which clients retry. */
export const WS_CLOSE_UNAVAILABLE = 1013;

/** How graphql-ws closes a socket refused with `refusal`. */
export function closeCodeFor(refusal: LimitRefusal): number {
  return refusal.limit === 'REDIS_UNAVAILABLE' ? WS_CLOSE_UNAVAILABLE : WS_CLOSE_LIMIT;
}

const UNAVAILABLE = 'SERVICE_UNAVAILABLE';

/**
 * The context key of an operation on a graphql-sse single connection stream (sse-single-connection.ts),
 * which counts its own subscriptions: the stream is the connection, not each operation.
 */
export const SINGLE_CONNECTION_STREAM = 'singleConnectionStream';

/** HTTP's answer to a refusal: 503 when the shared count cannot be reached, 429 past a cap. */
export function refusalStatus(refusal: LimitRefusal): number {
  return refusal.limit === 'REDIS_UNAVAILABLE' ? 503 : 429;
}

// graphql-ws takes an `error` answer only as instances of its own graphql's GraphQLError. Node loads
// graphql's CommonJS build for it, while a test runner may hand this file the ES build (another
// class): the class is taken from where graphql-ws takes it.
const { GraphQLError: WsGraphQLError } = createRequire(import.meta.url)('graphql') as typeof graphql;

// One error per refusal text: a flood is answered thousands of times a second, and an error's stack
// trace costs more than the rest of the answer.
const refusalErrors = new Map<string, GraphQLError>();

export function limitError(refusal: LimitRefusal): GraphQLError {
  let error = refusalErrors.get(refusal.message);
  if (!error) {
    error = new WsGraphQLError(refusal.message, {
      extensions: {
        code: refusal.limit === 'REDIS_UNAVAILABLE' ? UNAVAILABLE : 'LIMIT_EXCEEDED',
        limit: refusal.limit,
        max: refusal.max,
      },
    });
    if (refusalErrors.size > 100) refusalErrors.clear();
    refusalErrors.set(refusal.message, error);
  }
  return error;
}

/** A connection and a subscription for `user`, both or neither. */
export async function acquireStream(limiter: ConnectionLimiter, user: string): Promise<Lease | LimitRefusal> {
  const connection = await limiter.acquire('connection', user);
  if (!connection.ok) return connection;
  const subscription = await limiter.acquire('subscription', user);
  if (!subscription.ok) {
    connection.release();
    return subscription;
  }
  return {
    ok: true,
    release() {
      subscription.release();
      connection.release();
    },
  };
}

/**
 * Subscriptions over HTTP (SSE): counted from subscribe until the stream ends (the client leaving
 * included). graphql-ws operations pass through: graphql-ws.ts counts them per connection, and
 * sse-single-connection.ts those of its streams.
 */
export function streamCapsPlugin(limiter: ConnectionLimiter): Plugin {
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      // envelop types the context loosely: it is yoga's, built by contextOf (yoga.ts).
      const context = args.contextValue as unknown as Context & Record<string, unknown>;
      if ('extra' in context || 'socket' in context || SINGLE_CONNECTION_STREAM in context) return undefined;
      const lease = await acquireStream(limiter, context.viewer.user);
      if (!lease.ok) {
        setResultAndStopExecution({ errors: [limitError(lease)] });
        return undefined;
      }
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            lease.release();
            return undefined;
          }
          return { onEnd: () => lease.release() };
        },
        onSubscribeError: () => lease.release(),
      };
    },
    // A refused stream is answered as JSON, whatever the client accepts, so that it can read why.
    onResultProcess: (payload) => {
      const refusal = refusalIn(payload.result);
      if (!refusal) return;
      payload.setResultProcessor(
        (_result, fetchAPI) =>
          new fetchAPI.Response(JSON.stringify({ errors: [refusal.toJSON()] }), {
            status: refusal.extensions.code === UNAVAILABLE ? 503 : 429,
            headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
          }),
        'application/json',
      );
    },
  };
}

function refusalIn(result: unknown): GraphQLError | undefined {
  if (isAsyncIterable(result) || Array.isArray(result)) return undefined;
  const errors = (result as { errors?: readonly GraphQLError[] }).errors;
  return errors?.find(
    (e) => (e.extensions?.code === 'LIMIT_EXCEEDED' || e.extensions?.code === UNAVAILABLE) && 'limit' in e.extensions,
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
