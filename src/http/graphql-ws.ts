// Responsible for GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql. A browser cannot
// set headers on a WebSocket, so the token comes in connectionParams and is checked once per
// connection; each operation then runs through yoga's envelop (the same plugins, limits and error
// masking as HTTP), inside a request scope so its log lines carry its request id. A connection holds
// a slot of the connection limiter from connection_init to close (4429 when none is left; 1013 while Redis cannot count), and each
// subscription one until it completes (an `error` message when none is left; the socket stays open).
// Subscriptions run in cohorts (cohorts.ts): one execution per event for every subscriber of the same
// document, variables and viewer, its result serialized once and framed here by concatenation.
import type { IncomingMessage, Server } from 'node:http';
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
import type { Context as WsContext, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { requestScope } from '../logger.js';
import type { Context } from '../resolvers/context.js';
import type { AuthService } from '../services/auth.js';
import type { ConnectionLimiter, Lease } from '../services/connection-limits.js';
import type { Viewer } from '../services/viewer.js';
import type { AccessLog } from './access-log.js';
import { cohortKey, createCohorts, FramedMember, replaysCurrentState, type Cohorts } from './cohorts.js';
import { closeCodeFor, limitError } from './connection-caps.js';
import { settleRequestId } from './request-id.js';
import { GRAPHQL_PATH, type Yoga } from './yoga.js';

export interface GraphqlWsOptions {
  server: Server;
  yoga: Yoga;
  auth: AuthService;
  /** Largest message accepted, in bytes (the HTTP body limit). */
  maxPayload: number;
  limiter: ConnectionLimiter;
  accessLog: AccessLog;
  /** The cohorts subscriptions share; a module of its own when absent. */
  cohorts?: Cohorts;
}

export interface GraphqlWs {
  /** Closes every connection and stops accepting new ones. */
  close(): Promise<void>;
  /** Executions and deliveries of the subscription cohorts (tests, bench). */
  cohorts: Cohorts;
}

// A type alias (not an interface): graphql-ws requires Record<PropertyKey, unknown>.
type WsExtra = {
  request: IncomingMessage;
  viewer?: Viewer;
};

type ConnectionContext = WsContext<Record<string, unknown>, Extra & Partial<WsExtra>>;

/** What this module keeps per socket: its id and age for the log, and the limiter slots it holds. */
interface Connection {
  id: string;
  openedAt: number;
  lease?: Lease;
  subscriptions: Map<string, Lease>;
}

export function attachGraphqlWs(options: GraphqlWsOptions): GraphqlWs {
  const { server, yoga, maxPayload } = options;
  const cohorts = options.cohorts ?? createCohorts();
  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload });
  const connections = new WeakMap<WebSocket, Connection>();
  // Registered before useServer's own listener, so the facts exist by the time its hooks run.
  wss.on('connection', (socket, request) => {
    connections.set(socket, { id: settleRequestId(request), openedAt: performance.now(), subscriptions: new Map() });
    readInSlices(socket);
  });
  const of = (ctx: ConnectionContext) => connections.get(ctx.extra.socket)!;
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      execute: (args: ExecutionArgs) => inRequestScope(args, (fns) => fns.execute(args)),
      subscribe: (args: ExecutionArgs) => inRequestScope(args, (root) => subscribeInCohort(cohorts, args, root)),
      onConnect: (ctx) => acceptConnection(ctx, of(ctx), options),
      onSubscribe: (ctx, id, payload) => startOperation(yoga, ctx, of(ctx), id, payload, options.limiter),
      onComplete: (ctx, id) => releaseSubscription(of(ctx), id),
      onClose: (ctx, code, reason) => closeConnection(ctx, of(ctx), code ?? 1005, reason ?? '', options.accessLog),
    },
    wss,
  );
  return {
    cohorts,
    async close() {
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * A client that sends thousands of messages at once is read a slice per turn of the event loop, so
 * one socket cannot hold the loop (and every other client, /health included) for long.
 */
function readInSlices(socket: WebSocket, perTurn = 100): void {
  let inTurn = 0;
  socket.on('message', () => {
    if (++inTurn === 1) {
      setImmediate(() => {
        inTurn = 0;
        if (socket.isPaused && socket.readyState === socket.OPEN) socket.resume();
      });
    }
    if (inTurn === perTurn) socket.pause();
  });
}

/**
 * The viewer stays on the connection for yoga's context. A bad token closes the socket with 4403
 * Forbidden (graphql-ws's answer to false); a user or server past its cap, with 4429 and the cap's name.
 */
async function acceptConnection(ctx: ConnectionContext, connection: Connection, options: GraphqlWsOptions): Promise<boolean> {
  const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
  const viewer = await options.auth.authenticate(typeof header === 'string' ? header : undefined);
  if (!viewer) return false;
  ctx.extra.viewer = viewer;
  const lease = await options.limiter.acquire('connection', viewer.user);
  if (!lease.ok) {
    // Closed here with our code; graphql-ws's own close (4403, after false) then finds it closing and does nothing.
    ctx.extra.socket.close(closeCodeFor(lease), lease.message);
    return false;
  }
  connection.lease = lease;
  // A socket that closed while the slot was being taken has already been through onClose.
  if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
    lease.release();
    return false;
  }
  options.accessLog.wsOpen({ connectionId: connection.id, user: viewer.user });
  return true;
}

/**
 * A subscription's slot (queries and mutations take none), taken before validation and context so
 * that a refused one costs little; or the error message that refuses it.
 */
async function startOperation(
  yoga: Yoga,
  ctx: ConnectionContext,
  connection: Connection,
  id: string,
  payload: SubscribePayload,
  limiter: ConnectionLimiter,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const take = () => takeSubscriptionSlot(limiter, ctx, connection, id);
  const key = documentKey(payload);
  if (key !== undefined && KNOWN_SUBSCRIPTIONS.has(key)) {
    const refused = await take();
    if (refused) return refused;
  }
  const fns = envelopedFor(yoga, ctx, payload);
  const document = parseOperation(fns, payload);
  if (!('kind' in document)) return document;
  if (getOperationAST(document, payload.operationName)?.operation === OperationTypeNode.SUBSCRIPTION) {
    rememberSubscription(key);
    const refused = connection.subscriptions.has(id) ? undefined : await take();
    if (refused) return refused;
  }
  const execution = await prepareOperation(fns, document, payload, { socket: ctx.extra.socket, id });
  // Refused by validation, or the socket closed meanwhile (onClose has released what it found).
  if (!('document' in execution) || ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) releaseSubscription(connection, id);
  return execution;
}

async function takeSubscriptionSlot(
  limiter: ConnectionLimiter,
  ctx: ConnectionContext,
  connection: Connection,
  id: string,
): Promise<readonly GraphQLError[] | undefined> {
  const lease = await limiter.acquire('subscription', ctx.extra.viewer!.user);
  if (!lease.ok) return [limitError(lease)];
  connection.subscriptions.get(id)?.release();
  connection.subscriptions.set(id, lease);
  return undefined;
}

/**
 * Documents already parsed (under yoga's limits) and found to be subscriptions: the same document
 * again takes its slot before it is parsed, so a flood of refused subscriptions costs a lookup each.
 */
const KNOWN_SUBSCRIPTIONS = new Set<string>();

function documentKey(payload: SubscribePayload): string | undefined {
  return payload.query.length <= 8192 ? `${payload.operationName ?? ''}\n${payload.query}` : undefined;
}

function rememberSubscription(key: string | undefined): void {
  if (key === undefined) return;
  if (KNOWN_SUBSCRIPTIONS.size >= 1000) KNOWN_SUBSCRIPTIONS.clear();
  KNOWN_SUBSCRIPTIONS.add(key);
}

function releaseSubscription(connection: Connection, id: string): void {
  connection.subscriptions.get(id)?.release();
  connection.subscriptions.delete(id);
}

/** Every slot the socket held goes back, however it ended (client, server, refusal, error). */
function closeConnection(ctx: ConnectionContext, connection: Connection, code: number, reason: string, log: AccessLog): void {
  for (const id of [...connection.subscriptions.keys()]) releaseSubscription(connection, id);
  connection.lease?.release();
  log.wsClose({ connectionId: connection.id, user: ctx.extra.viewer?.user, openedAt: connection.openedAt, code, reason });
}

function envelopedFor(yoga: Yoga, ctx: ConnectionContext, payload: SubscribePayload): EnvelopedFns {
  return yoga.getEnveloped({
    ...ctx,
    req: ctx.extra.request,
    socket: ctx.extra.socket,
    params: payload,
  }) as unknown as EnvelopedFns;
}

function parseOperation(fns: EnvelopedFns, payload: SubscribePayload): DocumentNode | readonly GraphQLError[] {
  try {
    return fns.parse(payload.query);
  } catch (err) {
    return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
  }
}

/** Validates with yoga's envelop and hands its execute/subscribe on as the root value. */
async function prepareOperation(
  fns: EnvelopedFns,
  document: DocumentNode,
  payload: SubscribePayload,
  frames: Frames,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const { schema, execute, subscribe, contextFactory, validate } = fns;
  const errors = validate(schema, document);
  if (errors.length) return errors;
  return {
    schema,
    operationName: payload.operationName,
    document,
    variableValues: payload.variables,
    contextValue: await contextFactory(),
    rootValue: { execute, subscribe, frames } satisfies Root,
  };
}

function inRequestScope<T>(args: ExecutionArgs, run: (root: Root) => T): T {
  return requestScope.run({ requestId: (args.contextValue as Context).requestId }, () => run(args.rootValue as Root));
}

/** The first subscriber of a cohort runs envelop's subscribe; the others join its stream. */
function subscribeInCohort(cohorts: Cohorts, args: ExecutionArgs, root: Root) {
  const { document, operationName, variableValues } = args;
  const key = cohortKey(document, operationName, variableValues, (args.contextValue as Context).viewer);
  if (key === undefined) return root.subscribe(args);
  const replay = replaysCurrentState(document, operationName);
  const { socket, id } = root.frames;
  // graphql-ws's `next` message around the cohort's JSON (graphql-ws would serialize it again).
  const member = new FramedMember(socket, `{"id":${JSON.stringify(id)},"type":"next","payload":`, '}');
  return cohorts.join(key, () => root.subscribe(args), member, replay);
}

type Execute = (args: ExecutionArgs) => ReturnType<typeof execute>;
type Subscribe = (args: ExecutionArgs) => ReturnType<typeof subscribe>;

interface Enveloped {
  execute: Execute;
  subscribe: Subscribe;
}

/** Where a subscription's frames go: its socket and operation id. */
interface Frames {
  socket: WebSocket;
  id: string;
}

/** The root value graphql-ws hands back to execute/subscribe: envelop's functions and the frames' target. */
interface Root extends Enveloped {
  frames: Frames;
}

/** The envelop functions yoga hands out (typed `any` by envelop). */
interface EnvelopedFns extends Enveloped {
  schema: GraphQLSchema;
  contextFactory: () => Promise<Context> | Context;
  parse: (source: string) => DocumentNode;
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
}
