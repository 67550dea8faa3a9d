// Responsible for GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql. A browser cannot
// set headers on a WebSocket, so the token comes in connectionParams and is checked once per
// connection; each operation then runs through yoga's envelop (the same plugins, limits and error
// masking as HTTP), inside a request scope so its log lines carry its request id.
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type DocumentNode, type execute, type ExecutionArgs, type GraphQLSchema, type subscribe } from 'graphql';
import type { Context as WsContext, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { requestScope } from '../logger.js';
import type { Context } from '../resolvers/context.js';
import type { AuthService } from '../services/auth.js';
import type { Viewer } from '../services/viewer.js';
import { GRAPHQL_PATH, type Yoga } from './yoga.js';

export interface GraphqlWsOptions {
  server: Server;
  yoga: Yoga;
  auth: AuthService;
  /** Largest message accepted, in bytes (the HTTP body limit). */
  maxPayload: number;
}

export interface GraphqlWs {
  /** Closes every connection and stops accepting new ones. */
  close(): Promise<void>;
}

// A type alias (not an interface): graphql-ws requires Record<PropertyKey, unknown>.
type WsExtra = {
  request: IncomingMessage;
  viewer?: Viewer;
};

type ConnectionContext = WsContext<Record<string, unknown>, Extra & Partial<WsExtra>>;

export function attachGraphqlWs({ server, yoga, auth, maxPayload }: GraphqlWsOptions): GraphqlWs {
  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload });
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      execute: (args: ExecutionArgs) => inRequestScope(args, (fns) => fns.execute(args)),
      subscribe: (args: ExecutionArgs) => inRequestScope(args, (fns) => fns.subscribe(args)),
      onConnect: (ctx) => authenticateConnection(ctx, auth),
      onSubscribe: (ctx, _id, payload) => envelopOperation(yoga, ctx, payload),
    },
    wss,
  );
  return {
    async close() {
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The viewer stays on the connection for yoga's context; false closes the socket with 4403 Forbidden. */
function authenticateConnection(ctx: ConnectionContext, auth: AuthService): boolean {
  const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
  const viewer = auth.authenticate(typeof header === 'string' ? header : undefined);
  if (!viewer) return false;
  ctx.extra.viewer = viewer;
  return true;
}

/** Parses and validates with yoga's envelop and hands its execute/subscribe on as the root value. */
async function envelopOperation(
  yoga: Yoga,
  ctx: ConnectionContext,
  payload: SubscribePayload,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
    ...ctx,
    req: ctx.extra.request,
    socket: ctx.extra.socket,
    params: payload,
  }) as unknown as EnvelopedFns;
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (err) {
    return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
  }
  const errors = validate(schema, document);
  if (errors.length) return errors;
  return {
    schema,
    operationName: payload.operationName,
    document,
    variableValues: payload.variables,
    contextValue: await contextFactory(),
    rootValue: { execute, subscribe } satisfies Enveloped,
  };
}

function inRequestScope<T>(args: ExecutionArgs, run: (fns: Enveloped) => T): T {
  return requestScope.run({ requestId: (args.contextValue as Context).requestId }, () => run(args.rootValue as Enveloped));
}

type Execute = (args: ExecutionArgs) => ReturnType<typeof execute>;
type Subscribe = (args: ExecutionArgs) => ReturnType<typeof subscribe>;

interface Enveloped {
  execute: Execute;
  subscribe: Subscribe;
}

/** The envelop functions yoga hands out (typed `any` by envelop). */
interface EnvelopedFns extends Enveloped {
  schema: GraphQLSchema;
  contextFactory: () => Promise<Context> | Context;
  parse: (source: string) => DocumentNode;
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
}
