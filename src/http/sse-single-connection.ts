// Responsible for graphql-sse's single connection mode on /graphql: PUT reserves a stream (its token
// answered as text), GET with the token header opens it, POST with the header adds an operation whose
// results arrive on that stream, DELETE ?operationId= stops one. Browsers allow 6 HTTP/1 connections
// per host; this mode carries all of a page's subscriptions on one. Every request carries a bearer
// token of the user who reserved the stream (anyone else is answered 404, as for no stream); the
// stream is a connection under the caps from reservation to end, each subscription on it a
// subscription. Distinct-connection SSE (Accept: text/event-stream without the token header) is
// yoga's and is not touched here.
import { randomUUID } from 'node:crypto';
import {
  getOperationAST,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import { TOKEN_HEADER_KEY, type RequestParams, type Response as SseResponse } from 'graphql-sse';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import type { AuthService } from '../services/auth.js';
import type { ConnectionLimiter, Lease, LimitRefusal } from '../services/connection-limits.js';
import { limitError, refusalStatus, SINGLE_CONNECTION_STREAM } from './connection-caps.js';
import { GRAPHQL_PATH, unauthenticated, type Yoga } from './yoga.js';

export interface SingleConnectionOptions {
  auth: AuthService;
  limiter: ConnectionLimiter;
  /** A reservation that is not opened within this time is dropped and its connection slot freed. */
  reservationTimeoutMs?: number;
}

/** A reserved stream: whose it is, and the connection slot it holds until it ends. */
interface Reservation {
  user: string;
  lease: Lease;
  opened: boolean;
  expiry: NodeJS.Timeout;
}

type FetchAPI = Yoga['fetchAPI'];
type Handler = (request: Request) => Promise<Response>;

/** Whether `request` belongs to the single connection mode (the rest of /graphql stays yoga's). */
export function isSingleConnectionRequest(request: Request, path: string): boolean {
  return path === GRAPHQL_PATH && (request.method === 'PUT' || request.headers.has(TOKEN_HEADER_KEY));
}

export function sseSingleConnectionPlugin(options: SingleConnectionOptions): Plugin {
  const reservations = new Map<string, Reservation>();
  // The token a PUT is about to reserve: graphql-sse asks `authenticate` for it.
  const reserving = new WeakMap<Request, string>();
  let handler: Handler;
  let fetchAPI: FetchAPI;

  const end = (token: string) => {
    const reservation = reservations.get(token);
    if (!reservation) return;
    reservations.delete(token);
    clearTimeout(reservation.expiry);
    reservation.lease.release();
  };

  return {
    onYogaInit({ yoga }) {
      fetchAPI = yoga.fetchAPI;
      handler = createHandler(
        {
          // The token is graphql-sse's stream id only; who may use it was settled before (answer()).
          authenticate: (req) => reserving.get(req.raw) ?? req.headers.get(TOKEN_HEADER_KEY) ?? '',
          onSubscribe: (req, params) => operation(yoga as Yoga, options.limiter, req.raw, params),
        },
        yoga.fetchAPI,
      );
    },
    onRequest(payload) {
      if (!isSingleConnectionRequest(payload.request, payload.url.pathname)) return;
      const context: Answering = { ...options, handler, fetchAPI, reservations, reserving, end };
      return answer(context, payload.request).then((response) => payload.endResponse(response));
    },
  };
}

interface Answering extends SingleConnectionOptions {
  handler: Handler;
  fetchAPI: FetchAPI;
  reservations: Map<string, Reservation>;
  reserving: WeakMap<Request, string>;
  end(token: string): void;
}

async function answer(a: Answering, request: Request): Promise<Response> {
  // Every request carries the bearer token (a custom header, so CSRF prevention holds as for the rest).
  const header = request.headers.get('authorization');
  const viewer = await a.auth.authenticate(header);
  if (!viewer) {
    const { message, extensions } = unauthenticated(header ? 'the token is unknown or revoked' : 'no token was sent');
    return json(a.fetchAPI, { errors: [{ message, extensions: { code: extensions.code } }] }, 401);
  }
  if (request.method === 'PUT') return reserve(a, request, viewer.user);
  const token = request.headers.get(TOKEN_HEADER_KEY) ?? '';
  const reservation = a.reservations.get(token);
  // Another user's stream is answered as no stream at all: its existence is not theirs to learn.
  if (reservation?.user !== viewer.user) return json(a.fetchAPI, { errors: [{ message: 'Stream not found' }] }, 404);
  if (request.method !== 'GET' || request.headers.get('accept') !== 'text/event-stream') return a.handler(request);
  const response = await a.handler(request);
  if (!response.ok || !response.body || reservation.opened) return response;
  reservation.opened = true;
  clearTimeout(reservation.expiry);
  return whenBodyEnds(a.fetchAPI, response, () => a.end(token));
}

/** PUT: a connection slot first (429 past the caps), then graphql-sse's reservation under a fresh token. */
async function reserve(a: Answering, request: Request, user: string): Promise<Response> {
  const lease = await a.limiter.acquire('connection', user);
  if (!lease.ok) return refusal(a.fetchAPI, lease);
  const token = randomUUID();
  a.reserving.set(request, token);
  const response = await a.handler(request);
  if (response.status !== 201) {
    lease.release();
    return response;
  }
  // A reservation nobody opens would hold its slot for good: it lapses, and graphql-sse's stream with it.
  const expiry = setTimeout(() => {
    if (a.reservations.get(token)?.opened !== false) return;
    a.end(token);
    void dispose(a, request.url, token);
  }, a.reservationTimeoutMs ?? 30_000);
  expiry.unref();
  a.reservations.set(token, { user, lease, opened: false, expiry });
  return response;
}

/** graphql-sse forgets a stream only when it ends: open it and hang up at once. */
async function dispose(a: Answering, url: string, token: string): Promise<void> {
  const headers = { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token };
  const response = await a.handler(new a.fetchAPI.Request(url, { headers }));
  await response.body?.cancel();
}

/**
 * One operation of a stream, through yoga's envelop like any other request (auth, masking, metrics);
 * a subscription takes a slot under MAX_SUBSCRIPTIONS_PER_USER until it ends, and a refusal is the
 * POST's answer (429), not an event on the stream, so the client reads it where it asked.
 */
async function operation(
  yoga: Yoga,
  limiter: ConnectionLimiter,
  request: Request,
  params: RequestParams,
): Promise<ExecutionResult | AsyncGenerator<ExecutionResult> | SseResponse> {
  const token = request.headers.get(TOKEN_HEADER_KEY);
  const enveloped = yoga.getEnveloped({ request, params, [SINGLE_CONNECTION_STREAM]: token });
  let document: DocumentNode;
  try {
    document = enveloped.parse(params.query) as DocumentNode;
  } catch (error) {
    return { errors: [error as GraphQLError] };
  }
  const errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
  if (errors.length > 0) return { errors };
  const contextValue = (await enveloped.contextFactory()) as unknown as Context;
  const args = {
    schema: enveloped.schema as GraphQLSchema,
    document,
    contextValue,
    variableValues: params.variables,
    operationName: params.operationName,
  };
  if (getOperationAST(document, params.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION) {
    return (await enveloped.execute(args)) as ExecutionResult;
  }
  const lease = await limiter.acquire('subscription', contextValue.viewer.user);
  if (!lease.ok) return refusalTuple(lease);
  try {
    const result = (await enveloped.subscribe(args)) as AsyncGenerator<ExecutionResult> | ExecutionResult;
    if (!isAsyncGenerator(result)) {
      lease.release();
      return result;
    }
    return releasing(result, () => lease.release());
  } catch (error) {
    lease.release();
    throw error;
  }
}

/**
 * The subscription's results, giving the slot back when they end, fail or are stopped. Not an async
 * generator function: its return() would wait for the next event before reaching the source.
 */
function releasing<T>(source: AsyncGenerator<T>, release: () => void): AsyncGenerator<T> {
  const iterator: AsyncGenerator<T> = {
    async next() {
      try {
        const result = await source.next();
        if (result.done) release();
        return result;
      } catch (error) {
        release();
        throw error;
      }
    },
    return(value) {
      release();
      return source.return(value);
    },
    throw(error) {
      release();
      return source.throw(error);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && 'return' in value;
}

/** `response` with the same bytes, calling `done` once the body ends or the client leaves. */
function whenBodyEnds(fetchAPI: FetchAPI, response: Response, done: () => void): Response {
  const reader = response.body!.getReader();
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          done();
          controller.close();
        } else controller.enqueue(chunk.value);
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
  return new fetchAPI.Response(body, { status: response.status, headers: response.headers });
}

function refusal(fetchAPI: FetchAPI, refused: LimitRefusal): Response {
  return json(fetchAPI, { errors: [limitError(refused).toJSON()] }, refusalStatus(refused));
}

/** graphql-sse's form of an HTTP answer, which onSubscribe may return instead of a result. */
function refusalTuple(refused: LimitRefusal): SseResponse {
  return [
    JSON.stringify({ errors: [limitError(refused).toJSON()] }),
    { status: refusalStatus(refused), statusText: 'Too Many Requests', headers: jsonHeaders() },
  ];
}

// A new object per answer: the Response takes it over and adds content-length to it.
const jsonHeaders = () => ({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });

function json(fetchAPI: FetchAPI, body: unknown, status: number): Response {
  return new fetchAPI.Response(JSON.stringify(body), { status, headers: jsonHeaders() });
}
