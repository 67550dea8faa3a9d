// Responsible for the network surface: one HTTP server, one path (/graphql) for queries,
// mutations, SSE subscriptions, GraphiQL and graphql-ws WebSockets; /health beside it. Every
// operation is authenticated (bearer token on HTTP/SSE, connectionParams on WebSocket) and
// bounded (body size, depth, cost, aliases, tokens, mutation rate).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  type DocumentNode,
  type execute,
  type ExecutionArgs,
  type GraphQLSchema,
  type subscribe,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from './config.js';
import { REQUEST_ID_HEADER, requestIdOf } from './http/request-id.js';
import { currentRequestId, requestScope } from './logger.js';
import type { Context } from './resolvers/context.js';
import type { AuthService } from './services/auth.js';
import { DomainError } from './services/errors.js';
import type { Services } from './services/index.js';
import { createRateLimiter } from './services/rate-limit.js';
import type { Viewer } from './services/viewer.js';

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
  auth: AuthService;
  security: Config['security'];
  logger: Logger;
  /** Extra liveness facts for /health (e.g. the tracker's state). */
  health?: () => Record<string, unknown>;
  /**
   * HTTP routes beside /graphql (REST adapter, metrics, the dashboard's assets), tried in order
   * before GraphQL; a handler returns true when it answered the request.
   */
  routes?: HttpRoute[];
  /** Yoga/envelop plugins run after the built-in ones (metrics). */
  plugins?: Plugin[];
}

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

// A type alias (not an interface): graphql-ws requires Record<PropertyKey, unknown>.
type WsExtra = {
  request: IncomingMessage;
  viewer?: Viewer;
};

function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Authentication required: ${reason}. Send "Authorization: Bearer <token>" (create one with: prism-ami token create --user NAME).`, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

export function createGraphqlServer(options: ServerOptions): GraphqlServer {
  const { schema, services, auth, security, logger } = options;
  const mutationLimiter = createRateLimiter({
    perMinute: security.mutationsPerMinute,
    burst: Math.max(1, Math.min(security.mutationsPerMinute, 20)),
  });

  const contextFor = (viewer: Viewer, requestId: string): Context => ({ viewer, services, requestId });

  /** Per token: a burst of mutations, then a steady rate; queries and subscriptions are not limited. */
  const rateLimitMutations: Plugin<Context> = {
    onExecute({ args, setResultAndStopExecution }) {
      // envelop types these loosely; they are the execution args graphql-js received.
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      if (operation?.operation !== OperationTypeNode.MUTATION) return;
      const ctx = args.contextValue;
      if (mutationLimiter.take(ctx.viewer.user)) return;
      const retryAfter = mutationLimiter.retryAfterSeconds(ctx.viewer.user);
      setResultAndStopExecution({
        errors: [
          new GraphQLError(`Too many mutations: at most ${security.mutationsPerMinute} per minute per token; retry in ${retryAfter} s`, {
            extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(retryAfter) } } },
          }),
        ],
      });
    },
  };

  const armor = EnvelopArmorPlugin({
    maxDepth: { n: 12, ignoreIntrospection: false },
    costLimit: { maxCost: 5000 },
    maxAliases: { n: 15 },
    maxTokens: { n: 2000 },
    maxDirectives: { n: 20 },
    blockFieldSuggestion: { enabled: true },
  });

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // The offline GraphiQL bundle is ~45 MB of heap once loaded: load it on the first page view only.
    renderGraphiQL: async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts),
    graphiql: security.graphiql
      ? (request) => {
          // GET /graphql?token=… opens GraphiQL with the token already in its headers.
          const token = new URL(request.url).searchParams.get('token');
          return {
            title: 'prism-ami',
            // SSE: the browser's GraphiQL sends the headers editor's Authorization on every request,
            // whereas its WebSocket connection_init carries no token.
            subscriptionsProtocol: 'SSE',
            ...(token ? { headers: JSON.stringify({ Authorization: `Bearer ${token}` }) } : {}),
          };
        }
      : false,
    landingPage: false,
    cors: security.corsOrigins.length ? { origin: security.corsOrigins, credentials: false } : false,
    plugins: [
      armor,
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      ...(security.introspection ? [] : [useDisableIntrospection()]),
      rateLimitMutations,
      ...(options.plugins ?? []),
    ],
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    // HTTP and SSE requests carry a Fetch Request; graphql-ws operations arrive with the viewer
    // that onConnect authenticated.
    context: (initial: { request?: Request; extra?: WsExtra }) => {
      if (initial.extra?.viewer) return contextFor(initial.extra.viewer, randomUUID());
      const request = initial.request;
      if (!request) throw unauthenticated('no credentials');
      const header = request.headers.get('authorization');
      const viewer = auth.authenticate(header);
      if (!viewer) throw unauthenticated(header ? 'the token is unknown or revoked' : 'no token was sent');
      return contextFor(viewer, request.headers.get('x-request-id') ?? randomUUID());
    },
    maskedErrors: {
      maskError(error, message) {
        const original = isGraphQLError(error) ? error.originalError : error;
        // Expected failures outside a result union (e.g. a bad page size) keep their message.
        if (original instanceof DomainError) {
          return new GraphQLError(original.message, { extensions: { code: original.code } });
        }
        // A wrapper GraphQLError (e.g. `Variable "$input" got invalid value … at "input.public"; …`)
        // keeps its message and path; returning its inner error would drop which field was wrong.
        if (isGraphQLError(original)) return isGraphQLError(error) ? error : original;
        if (isGraphQLError(error) && !original) return error;
        // The request id lets the client's report be matched with this log line.
        const requestId = currentRequestId() ?? randomUUID();
        logger.error({ err: original ?? error, requestId }, 'unexpected error');
        return new GraphQLError(`${message} (request id ${requestId})`, {
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
        });
      },
    },
  });

  const http = createServer((req, res) => {
    // The caller's request id (or a new one) is answered back, seen by the GraphQL context, and
    // attached to every log line written while this request is handled.
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    req.headers[REQUEST_ID_HEADER] = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    requestScope.run({ requestId }, () => handle(req, res));
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', ...options.health?.() }));
      return;
    }
    if (path !== GRAPHQL_PATH && options.routes?.length) {
      void routeOrFallback(req, res, options.routes, () => fallback(req, res, path));
      return;
    }
    fallback(req, res, path);
  }

  function fallback(req: IncomingMessage, res: ServerResponse, path: string | undefined): void {
    if (path === '/' && req.method === 'GET') {
      res.writeHead(302, { location: GRAPHQL_PATH });
      res.end();
      return;
    }
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length']);
      const tooLarge = Number.isFinite(length) && length > security.maxBodyBytes;
      if (tooLarge) return rejectBody(res, 413, `Request body larger than ${security.maxBodyBytes} bytes`);
      if (!req.headers['content-length'] && req.headers['transfer-encoding']) {
        // A chunked body could be any size: require a declared length instead of buffering it.
        return rejectBody(res, 411, 'A Content-Length header is required');
      }
    }
    void yoga.handle(req, res);
  }

  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH, maxPayload: security.maxBodyBytes });
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      execute: (args: ExecutionArgs) =>
        requestScope.run({ requestId: (args.contextValue as Context).requestId }, () => (args.rootValue as Enveloped).execute(args)),
      subscribe: (args: ExecutionArgs) =>
        requestScope.run({ requestId: (args.contextValue as Context).requestId }, () => (args.rootValue as Enveloped).subscribe(args)),
      onConnect: (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const viewer = auth.authenticate(typeof header === 'string' ? header : undefined);
        // false closes the socket with 4403 Forbidden.
        if (!viewer) return false;
        ctx.extra.viewer = viewer;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
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

async function routeOrFallback(req: IncomingMessage, res: ServerResponse, routes: HttpRoute[], fallback: () => void): Promise<void> {
  try {
    for (const route of routes) if (await route(req, res)) return;
    fallback();
  } catch {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error' }));
  }
}

/**
 * By name as well as by class: CommonJS plugins (GraphQL Armor) load graphql's CJS build, whose
 * GraphQLError is another class than the ESM one; both are the client's to see.
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError');
}

function rejectBody(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'LENGTH_REQUIRED' } }] }));
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
