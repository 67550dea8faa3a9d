// The dashboard's GraphQL client: typed documents (generated from web/operations) over HTTP, and
// subscriptions over graphql-ws with Server-Sent Events as the fallback when a WebSocket cannot be
// opened (proxies that drop the upgrade). The token goes in the Authorization header on HTTP/SSE
// and in connectionParams on the WebSocket, as the server expects.
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
}

export function createApi(options: ApiOptions): Api {
  const state: ClientState = {
    options,
    authorization: `Bearer ${options.token}`,
    transport: options.transport,
    wsConnectedOnce: false,
    ws: undefined,
  };
  return {
    request: (document, variables) => request(state, document, variables),
    subscribe: (document, variables, sink) =>
      state.transport === 'sse' ? subscribeSse(state, document, variables, sink) : subscribeWs(state, document, variables, sink),
    transport: () => state.transport,
    dispose() {
      void state.ws?.dispose();
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
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, authorization: state.authorization },
    body: JSON.stringify({ query: document.toString(), variables }),
    signal,
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
      next: (value) => {
        try {
          sink.next(result(state, value as GraphqlResponse<R>, 200));
        } catch (err) {
          sink.error(err as ApiError);
        }
      },
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

function subscribeSse<R, V>(state: ClientState, document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void {
  const controller = new AbortController();
  void followEventStream(state, document, variables, sink, controller.signal);
  return () => controller.abort();
}

/** Reads the event stream until it completes, reconnecting after a dropped stream up to 5 times in a row. */
async function followEventStream<R, V>(
  state: ClientState,
  document: TypedDocumentString<R, V>,
  variables: V,
  sink: Sink<R>,
  signal: AbortSignal,
): Promise<void> {
  let attempt = 0;
  for (;;) {
    try {
      return await readEventStream(state, document, variables, sink, signal, () => {
        attempt = 0;
      });
    } catch (err) {
      if (signal.aborted) return;
      const apiError = err instanceof ApiError ? err : new ApiError('Live updates were interrupted', 'NETWORK');
      // Reconnect after a dropped stream (the subscription starts with the current state).
      if (apiError.code !== 'NETWORK' || ++attempt > 5) return sink.error(apiError);
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/** One SSE connection: resolves when the server completes the subscription, throws when it fails or drops. */
async function readEventStream<R, V>(
  state: ClientState,
  document: TypedDocumentString<R, V>,
  variables: V,
  sink: Sink<R>,
  signal: AbortSignal,
  onData: () => void,
): Promise<void> {
  const response = await post(state, document, variables, 'text/event-stream', signal);
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as GraphqlResponse<R>;
    result(state, body, response.status); // throws with the server's message
    throw new ApiError(`Live updates failed: HTTP ${response.status}`, 'BAD_RESPONSE');
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError('The event stream ended early', 'NETWORK');
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const { event, data } = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event === 'complete') return sink.complete();
      if (!data) continue; // keep-alive comment
      onData();
      sink.next(result(state, JSON.parse(data) as GraphqlResponse<R>, 200));
    }
  }
}

/** One Server-Sent Events block: its event name (default `message`) and its data lines joined. */
function parseEvent(block: string): { event: string; data: string } {
  const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
  const data = block
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  return { event, data };
}

function isForbidden(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === 4403;
}
