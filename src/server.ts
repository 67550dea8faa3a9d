// Responsible for the network surface: one HTTP server, one path (/graphql) for queries,
// mutations, SSE subscriptions, GraphiQL and graphql-ws WebSockets; /health beside it.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type DocumentNode, type execute, type ExecutionArgs, type GraphQLSchema, type subscribe } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Context } from './resolvers/context.js';
import { DomainError } from './services/errors.js';
import type { Services } from './services/index.js';
import { LOCAL_USER } from './services/viewer.js';

export const GRAPHQL_PATH = '/graphql';

export interface GraphqlServer {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  http: Server;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServerOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  /** Extra liveness facts for /health (e.g. the tracker's last tick). */
  health?: () => Record<string, unknown>;
}

export function createGraphqlServer(options: ServerOptions): GraphqlServer {
  const { schema, services, logger } = options;

  const contextFor = (requestId: string): Context => ({
    viewer: { user: LOCAL_USER },
    services,
    requestId,
  });

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    renderGraphiQL,
    graphiql: { title: 'prism-ami', subscriptionsProtocol: 'WS' },
    landingPage: false,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    // HTTP and SSE requests carry a Fetch Request; graphql-ws operations arrive without one.
    context: (initial: { request?: Request }) => contextFor(initial.request?.headers.get('x-request-id') ?? randomUUID()),
    maskedErrors: {
      maskError(error, message) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        // Expected failures outside a result union (e.g. a bad page size) keep their message.
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, { extensions: { code: original.code } });
        }
        if (error instanceof GraphQLError && !original) return error;
        const requestId = randomUUID();
        logger.error({ err: original ?? error, errorId: requestId }, 'unexpected error');
        return new GraphQLError(`${message} (error id ${requestId})`, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
  });

  const http = createServer((req, res) => {
    if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', ...options.health?.() }));
      return;
    }
    if (req.url === '/' && req.method === 'GET') {
      res.writeHead(302, { location: GRAPHQL_PATH });
      res.end();
      return;
    }
    void yoga.handle(req, res);
  });

  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH, maxPayload: 1024 * 1024 });
  const wsServer = useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        }) as unknown as EnvelopedFns;
        const document = parse(payload.query);
        const errors = validate(s, document);
        if (errors.length) return errors;
        return {
          schema: s,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );

  return {
    yoga,
    http,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const { port: actual } = http.address() as AddressInfo;
          const shownHost = host.includes(':') ? `[${host}]` : host;
          resolve(`http://${shownHost}:${actual}${GRAPHQL_PATH}`);
        });
      });
    },
    async close() {
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
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
