// One GraphQL operation over graphql-ws on a real socket (a mutation answers once, as over HTTP),
// so a test can check that a rule holds on the WebSocket transport too.
import { print, type ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import WebSocket from 'ws';
import { withTimeout, type TestApp } from './harness.js';

/** One operation over graphql-ws on a real socket: a mutation answers once, like over HTTP. */
export async function overWebSocket<R, V>(t: TestApp, doc: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R> {
  const client = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  try {
    return await withTimeout(
      (async () => {
        for await (const result of client.iterate({ query: print(doc), variables: variables as Record<string, unknown> })) {
          const r = result as ExecutionResult<R>;
          if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
          return r.data!;
        }
        throw new Error('the WebSocket operation completed without a result');
      })(),
      10_000,
      'the operation over graphql-ws',
    );
  } finally {
    await client.dispose();
  }
}
