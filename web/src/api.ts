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

export function createApi(options: ApiOptions): Api {
  const authorization = `Bearer ${options.token}`;
  let transport = options.transport;
  let wsConnectedOnce = false;
  let ws: Client | undefined;

  const useSse = () => {
    if (transport === 'sse') return;
    transport = 'sse';
    options.onTransportChange?.('sse');
  };

  function result<R>(body: GraphqlResponse<R>, status: number): R {
    const first = body.errors?.[0];
    if (first) {
      const code = first.extensions?.code ?? (status === 401 ? 'UNAUTHENTICATED' : 'GRAPHQL_ERROR');
      if (code === 'UNAUTHENTICATED') options.onUnauthenticated();
      throw new ApiError(first.message, code);
    }
    if (body.data == null) throw new ApiError(`The server answered HTTP ${status} without data`, 'BAD_RESPONSE');
    return body.data;
  }

  async function request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<R> {
    let response: Response;
    try {
      response = await fetch(ENDPOINT, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization,
        },
        body: JSON.stringify({ query: document.toString(), variables }),
      });
    } catch {
      throw new ApiError('The server cannot be reached. Is prism-ami still running?', 'NETWORK');
    }
    let body: GraphqlResponse<R>;
    try {
      body = (await response.json()) as GraphqlResponse<R>;
    } catch {
      throw new ApiError(`The server answered HTTP ${response.status} with something other than GraphQL`, 'BAD_RESPONSE');
    }
    return result(body, response.status);
  }

  function wsClient(): Client {
    ws ??= createClient({
      url: new URL(ENDPOINT, window.location.href).href.replace(/^http/, 'ws'),
      connectionParams: { authorization },
      lazy: true,
      keepAlive: 20_000,
      // A proxy that swallows the upgrade must not leave the page waiting forever.
      connectionAckWaitTimeout: 10_000,
      retryAttempts: 20,
      // Reconnect (and resubscribe) after a drop, e.g. a server restart, but not when the socket
      // never opened (fall back to SSE instead) nor when the token was refused.
      shouldRetry: (e) => wsConnectedOnce && !isForbidden(e),
      on: {
        connected: () => {
          wsConnectedOnce = true;
        },
        closed: (e) => {
          if (isForbidden(e)) options.onUnauthenticated();
        },
      },
    });
    return ws;
  }

  function subscribeWs<R, V>(document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void {
    let fallback: (() => void) | undefined;
    let stopped = false;
    const stop = wsClient().subscribe<R>(
      { query: document.toString(), variables: variables as Record<string, unknown> },
      {
        next: (value) => {
          try {
            sink.next(result(value as GraphqlResponse<R>, 200));
          } catch (err) {
            sink.error(err as ApiError);
          }
        },
        complete: () => sink.complete(),
        error: (err) => {
          if (stopped) return;
          if (Array.isArray(err)) {
            const first = (err as { message: string; extensions?: { code?: string } }[])[0];
            sink.error(new ApiError(first?.message ?? 'Subscription failed', first?.extensions?.code ?? 'GRAPHQL_ERROR'));
          } else if (isForbidden(err)) {
            sink.error(new ApiError('The token was refused', 'UNAUTHENTICATED'));
          } else if (!wsConnectedOnce) {
            useSse();
            fallback = subscribeSse(document, variables, sink);
          } else {
            sink.error(new ApiError('Live updates were interrupted', 'NETWORK'));
          }
        },
      },
    );
    return () => {
      stopped = true;
      stop();
      fallback?.();
    };
  }

  function subscribeSse<R, V>(document: TypedDocumentString<R, V>, variables: V, sink: Sink<R>): () => void {
    const controller = new AbortController();
    let attempt = 0;
    const run = async (): Promise<void> => {
      const response = await fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
        body: JSON.stringify({ query: document.toString(), variables }),
        signal: controller.signal,
      });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => ({}))) as GraphqlResponse<R>;
        result(body, response.status); // throws with the server's message
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
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
          if (event === 'complete') return sink.complete();
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (!data) continue; // keep-alive comment
          attempt = 0;
          sink.next(result(JSON.parse(data) as GraphqlResponse<R>, 200));
        }
      }
    };
    const loop = async (): Promise<void> => {
      for (;;) {
        try {
          return await run();
        } catch (err) {
          if (controller.signal.aborted) return;
          const apiError = err instanceof ApiError ? err : new ApiError('Live updates were interrupted', 'NETWORK');
          // Reconnect after a dropped stream (the subscription starts with the current state).
          if (apiError.code !== 'NETWORK' || ++attempt > 5) return sink.error(apiError);
          await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
        }
      }
    };
    void loop();
    return () => controller.abort();
  }

  return {
    request,
    subscribe: (document, variables, sink) =>
      transport === 'sse' ? subscribeSse(document, variables, sink) : subscribeWs(document, variables, sink),
    transport: () => transport,
    dispose() {
      void ws?.dispose();
    },
  };
}

function isForbidden(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === 4403;
}
