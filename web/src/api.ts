// The dashboard's GraphQL client: typed documents (generated from web/operations) over HTTP, and
// subscriptions over graphql-ws with Server-Sent Events as the fallback when a WebSocket cannot be
// opened (proxies that drop the upgrade): graphql-sse's single connection mode, one event stream
// for all subscriptions. The token goes in the Authorization header on HTTP/SSE and in
// connectionParams on the WebSocket, as the server expects.
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './generated/graphql.js';

const ENDPOINT = '/graphql';

export type Transport = 'websocket' | 'sse';

export class ApiError extends Error {
  constructor(
    message: string,
    /** The GraphQL error code (UNAUTHENTICATED, RATE_LIMITED, …) or NETWORK. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Sink<R> {
  next(value: R): void;
  error(error: ApiError): void;
  complete(): void;
}

export interface Api {
  request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<R>;
  /** Starts a subscription; the returned function stops it. */
  subscribe<R, V>(document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void;
  /** How subscriptions travel now (WebSocket until it fails to connect, then SSE). */
  transport(): Transport;
  dispose(): void;
}

interface GraphqlResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface ApiOptions {
  token: string;
  transport: Transport;
  /** The server refused the token (HTTP 401 or WebSocket close 4403). */
  onUnauthenticated(): void;
  onTransportChange?(transport: Transport): void;
}

/** What the HTTP, WebSocket and SSE paths of one client share. */
interface ClientState {
  readonly options: ApiOptions;
  readonly authorization: string;
  transport: Transport;
  /** Whether the WebSocket ever opened: only then is a failure a drop worth reconnecting after. */
  wsConnectedOnce: boolean;
  ws: Client | undefined;
  /** The SSE fallback's client: one event stream for all subscriptions, opened on the first. */
  sse: SseClient<true> | undefined;
  /** Why the server last refused a request of the SSE fallback, for the subscriber to read. */
  sseRefusal: ApiError | undefined;
}

export function createApi(options: ApiOptions): Api {
  const state: ClientState = {
    options,
    authorization: `Bearer ${options.token}`,
    transport: options.transport,
    wsConnectedOnce: false,
    ws: undefined,
    sse: undefined,
    sseRefusal: undefined,
  };
  return {
    request: (document, variables) => request(state, document, variables),
    subscribe: (document, variables, sink) =>
      state.transport === 'sse' ? subscribeSse(state, document, variables, sink) : subscribeWs(state, document, variables, sink),
    transport: () => state.transport,
    dispose() {
      void state.ws?.dispose();
      state.sse?.dispose();
    },
  };
}

function useSse(state: ClientState): void {
  if (state.transport === 'sse') return;
  state.transport = 'sse';
  state.options.onTransportChange?.('sse');
}

/** The data of a GraphQL response, or its first error as an ApiError (signing out on UNAUTHENTICATED). */
function result<R>(state: ClientState, body: GraphqlResponse<R>, status: number): R {
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? (status === 401 ? 'UNAUTHENTICATED' : 'GRAPHQL_ERROR');
    if (code === 'UNAUTHENTICATED') state.options.onUnauthenticated();
    throw new ApiError(first.message, code);
  }
  if (body.data == null) throw new ApiError(`The server answered HTTP ${status} without data`, 'BAD_RESPONSE');
  return body.data;
}

function post<R, V>(
  state: ClientState,
  document: TypedDocumentString<R, V>,
  variables: V | undefined,
  accept: string,
): Promise<Response> {
  return fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: state.authorization },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
}

async function request<R, V>(state: ClientState, document: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  let response: Response;
  try {
    response = await post(state, document, variables, 'application/graphql-response+json, application/json');
  } catch {
    throw new ApiError('The server cannot be reached. Is prism-ami still running?', 'NETWORK');
  }
  let body: GraphqlResponse<R>;
  try {
    body = (await response.json()) as GraphqlResponse<R>;
  } catch {
    throw new ApiError(`The server answered HTTP ${response.status} with something other than GraphQL`, 'BAD_RESPONSE');
  }
  return result(state, body, response.status);
}

function wsClient(state: ClientState): Client {
  state.ws ??= createClient({
    url: new URL(ENDPOINT, window.location.href).href.replace(/^http/, 'ws'),
    connectionParams: { authorization: state.authorization },
    lazy: true,
    keepAlive: 20_000,
    // A proxy that swallows the upgrade must not leave the page waiting forever.
    connectionAckWaitTimeout: 10_000,
    retryAttempts: 20,
    // Reconnect (and resubscribe) after a drop, e.g. a server restart, but not when the socket
    // never opened (fall back to SSE instead) nor when the token was refused.
    shouldRetry: (e) => state.wsConnectedOnce && !isForbidden(e),
    on: {
      connected: () => {
        state.wsConnectedOnce = true;
      },
      closed: (e) => {
        if (isForbidden(e)) state.options.onUnauthenticated();
      },
    },
  });
  return state.ws;
}

function subscribeWs<R, V>(state: ClientState, document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void {
  let fallback: (() => void) | undefined;
  let stopped = false;
  const stop = wsClient(state).subscribe<R>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (value) => deliver(state, sink, value as GraphqlResponse<R>),
      complete: () => sink.complete(),
      error: (err) => {
        if (stopped) return;
        const apiError = wsError(state, err);
        if (apiError) return sink.error(apiError);
        useSse(state);
        fallback = subscribeSse(state, document, variables, sink);
      },
    },
  );
  return () => {
    stopped = true;
    stop();
    fallback?.();
  };
}

/** What a graphql-ws failure means to the subscriber; undefined when the socket never opened (try SSE). */
function wsError(state: ClientState, err: unknown): ApiError | undefined {
  if (Array.isArray(err)) {
    const first = (err as { message: string; extensions?: { code?: string } }[])[0];
    return new ApiError(first?.message ?? 'Subscription failed', first?.extensions?.code ?? 'GRAPHQL_ERROR');
  }
  if (isForbidden(err)) return new ApiError('The token was refused', 'UNAUTHENTICATED');
  if (!state.wsConnectedOnce) return undefined;
  return new ApiError('Live updates were interrupted', 'NETWORK');
}

/**
 * The SSE fallback: graphql-sse's single connection mode, so that all of the page's subscriptions
 * share one event stream (browsers open at most 6 HTTP/1 connections per host). The client sends the
 * Authorization header on every request of the protocol (reservation, stream, each operation).
 */
function sseClient(state: ClientState): SseClient<true> {
  state.sse ??= createSseClient({
    url: new URL(ENDPOINT, window.location.href).href,
    singleConnection: true,
    headers: { authorization: state.authorization },
    // Reconnect (and resubscribe) after a dropped stream, up to 5 times in a row.
    retryAttempts: 5,
    fetchFn: (input: RequestInfo | URL, init?: RequestInit) => refusalsNoted(state, input, init),
  });
  return state.sse;
}

/**
 * fetch, noting why the server refused (401, 429, …): the client reports only "Server responded
 * with 429", and the refusal's own message (which cap, what to do) is what the page should show.
 */
async function refusalsNoted(state: ClientState, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as GraphqlResponse<unknown>;
  try {
    result(state, body, response.status); // throws with the server's message (signing out on 401)
    state.sseRefusal = new ApiError(`Live updates failed: HTTP ${response.status}`, 'BAD_RESPONSE');
  } catch (err) {
    state.sseRefusal = err as ApiError;
  }
  return response;
}

function subscribeSse<R, V>(state: ClientState, document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void {
  let stopped = false;
  const stop = sseClient(state).subscribe<R>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (value) => deliver(state, sink, value as GraphqlResponse<R>),
      complete: () => {
        if (!stopped) sink.complete();
      },
      error: (err) => {
        if (stopped) return;
        if (err instanceof ApiError) return sink.error(err);
        sink.error(state.sseRefusal ?? new ApiError('Live updates were interrupted', 'NETWORK'));
      },
    },
  );
  return () => {
    stopped = true;
    stop();
  };
}

/** One subscription value to the sink: its data, or its GraphQL errors as an ApiError (both transports). */
function deliver<R>(state: ClientState, sink: Sink<R>, value: GraphqlResponse<R>): void {
  try {
    sink.next(result(state, value, 200));
  } catch (err) {
    sink.error(err as ApiError);
  }
}

function isForbidden(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === 4403;
}
