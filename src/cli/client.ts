// Responsible for talking GraphQL to a prism-ami server on behalf of the CLI: typed documents from
// codegen, printed and sent over fetch (queries, mutations) or graphql-ws (subscriptions), and every
// transport failure turned into a CliError a person can act on.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { ErrorFieldsFragment } from '../generated/graphql/graphql.js';
import { CliError, EXIT } from './errors.js';

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** Sent as `Authorization: Bearer <token>` (HTTP) and connectionParams.authorization (graphql-ws). */
  token?: string | undefined;
}

export interface PrismClient {
  readonly url: string;
  request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R>;
  /** Every value the subscription yields, until it completes; `return()` on the iterator unsubscribes. */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V): AsyncGenerator<R, void, undefined>;
  dispose(): Promise<void>;
}

export function createPrismClient(options: ClientOptions): PrismClient {
  const { url, token } = options;
  const authorization = token ? `Bearer ${token}` : undefined;
  let ws: Client | undefined;

  async function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ query: print(document), variables }),
      });
    } catch (err) {
      throw unreachable(url, err);
    }
    const text = await res.text();
    let body: FormattedExecutionResult<R> | undefined;
    try {
      body = JSON.parse(text) as FormattedExecutionResult<R>;
    } catch {
      body = undefined;
    }
    if (body?.errors?.length) throw graphQLErrors(body.errors);
    if (!res.ok || !body?.data) {
      throw new CliError(
        `HTTP ${res.status} ${res.statusText} from ${url}: not a GraphQL answer. Is --url pointing at a prism-ami server's /graphql?`,
        { exitCode: EXIT.ERROR },
      );
    }
    return body.data;
  }

  function wsClient(): Client {
    ws ??= createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      // A CLI reports a lost connection rather than retrying behind the user's back.
      retryAttempts: 0,
      ...(authorization ? { connectionParams: { authorization } } : {}),
    });
    return ws;
  }

  async function* subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V): AsyncGenerator<R, void, undefined> {
    const iterator = wsClient().iterate<R>({ query: print(document), variables: variables as Record<string, unknown> });
    try {
      for (;;) {
        let step: IteratorResult<FormattedExecutionResult<R, unknown>>;
        try {
          step = await iterator.next();
        } catch (err) {
          throw subscriptionFailure(url, err);
        }
        if (step.done) return;
        if (step.value.errors?.length) throw graphQLErrors(step.value.errors);
        if (step.value.data) yield step.value.data;
      }
    } finally {
      await iterator.return?.();
    }
  }

  return {
    url,
    request,
    subscribe,
    async dispose() {
      await ws?.dispose();
    },
  };
}

/** The success member of a mutation's result union, or a CliError carrying the server's typed error. */
export function expectSuccess<T extends { __typename: string }, K extends T['__typename']>(
  result: T,
  success: K,
): Extract<T, { __typename: K }> {
  if (result.__typename === success) return result as Extract<T, { __typename: K }>;
  throw domainError(result as unknown as ErrorFieldsFragment);
}

export function domainError(error: ErrorFieldsFragment): CliError {
  const details: string[] = [];
  if (error.__typename === 'ValidationError') {
    for (const f of error.fieldErrors) details.push(`${f.path}: ${f.message}`);
  }
  if (error.__typename === 'Ec2Error' && error.ec2Code) details.push(`EC2 error code: ${error.ec2Code}`);
  // The server's summary of a validation error repeats its first field; the lines below list them all.
  const message = error.__typename === 'ValidationError' && details.length ? 'invalid input' : error.message;
  return new CliError(message, { code: error.code, details });
}

function graphQLErrors(
  errors: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[],
): CliError {
  const [first, ...rest] = errors;
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : undefined;
  const details = rest.map((e) => e.message);
  return new CliError(first?.message ?? 'unknown GraphQL error', { code, details });
}

/** fetch failed before any HTTP answer: nothing listens there (or DNS/TLS failed). */
function unreachable(url: string, err: unknown): CliError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const reason = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new CliError(
    `cannot reach the prism-ami server at ${url} (${reason}). ` +
      'Start one with `npm start` (or `prism-ami serve`), or point --url / PRISM_AMI_URL at a running server.',
    { exitCode: EXIT.UNREACHABLE },
  );
}

/** graphql-ws rejects with a CloseEvent or an ErrorEvent (not an Error) when the socket fails. */
function subscriptionFailure(url: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (Array.isArray(err)) return graphQLErrors(err as { message: string }[]);
  if (err instanceof Error) return new CliError(err.message);
  const close = err as { code?: number; reason?: string; type?: string; message?: string };
  if (close.type === 'error' || close.code === 1006) {
    return new CliError(
      `lost the WebSocket connection to ${url}${close.message ? ` (${close.message})` : ''}. Is the server still running?`,
      {
        exitCode: EXIT.UNREACHABLE,
      },
    );
  }
  if (close.code === 1001) {
    return new CliError(`the server at ${url} shut down (1001 ${close.reason || 'Going away'})`, { exitCode: EXIT.UNREACHABLE });
  }
  return new CliError(`the server closed the subscription (${close.code ?? '?'} ${close.reason ?? ''})`.trim());
}
