// Responsible for GraphQL execution over HTTP and SSE (yoga), shared by graphql-ws: the plugins that
// bound every operation (depth, cost, aliases, tokens, CSRF, introspection, mutation rate), who is
// asking (a bearer token per request, or the viewer the WebSocket connection authenticated), and
// which errors a client may read (domain errors and GraphQL's own; the rest is masked and logged).
import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance, type YogaServerOptions } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { currentRequestId, noteRequestUser } from '../logger.js';
import type { Context } from '../resolvers/context.js';
import type { AuthService } from '../services/auth.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { DomainError, UnavailableError } from '../services/errors.js';
import type { Services } from '../services/index.js';
import { createRateLimiter, mutationBurst, RateLimiterUnavailableError, type RateLimiter } from '../services/rate-limit.js';
import type { Viewer } from '../services/viewer.js';
import { pageAnswers } from './page-answers.js';
import { REQUEST_ID_HEADER } from './request-id.js';

export const GRAPHQL_PATH = '/graphql';

export type Yoga = YogaServerInstance<Record<string, unknown>, Context>;

export interface YogaOptions {
  schema: GraphQLSchema;
  services: Services;
  auth: AuthService;
  security: Config['security'];
  logger: Logger;
  /**
   * Counts mutations per token against security.mutationsPerMinute; in this process when absent.
   * Replicas pass the Redis one (src/redis/rate-limit.ts) so that the limit holds across them.
   */
  rateLimiter?: RateLimiter;
  /** Yoga/envelop plugins run after the built-in ones (metrics). */
  plugins?: Plugin[];
}

/**
 * What yoga builds a context from: HTTP and SSE requests carry a Fetch Request; graphql-ws operations
 * arrive with the viewer that the connection's connectionParams authenticated (src/http/graphql-ws.ts).
 */
interface InitialContext {
  request?: Request;
  extra?: { viewer?: Viewer };
}

type Options = YogaServerOptions<Record<string, unknown>, Context>;

export function createYogaServer(options: YogaOptions): Yoga {
  const { schema, security, logger } = options;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // The offline GraphiQL bundle is ~45 MB of heap once loaded: load it on the first page view only.
    renderGraphiQL: async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts),
    graphiql: security.graphiql ? graphiqlFor : false,
    landingPage: false,
    cors: security.corsOrigins.length ? { origin: security.corsOrigins, credentials: false } : false,
    plugins: [
      // Each query document compiled once into a function (graphql-jit): a 50-AMI page executes in
      // ~125 µs instead of ~290. Queries only: its subscribe loses literal arguments
      // (`amiProgress(id: "…")` arrives without its id), and mutations are not where the time goes.
      useGraphQlJit({}, { enableIf: ({ document, operationName }) => isQuery(document, operationName) }),
      armor(),
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      ...(security.introspection ? [] : [useDisableIntrospection()]),
      rateLimitMutations(security.mutationsPerMinute, options.rateLimiter, logger),
      ...(options.plugins ?? []),
      // Last: an answer it serves stops execution, so every other plugin's hooks run first.
      pageAnswers(),
    ],
    logging: yogaLogging(logger),
    context: (initial: InitialContext) => contextOf(initial, options),
    maskedErrors: { errorMessage: MASKED_MESSAGE, maskError: (error, message) => maskError(error, message, logger) },
  });
}

function isQuery(document: DocumentNode, operationName: string | null | undefined): boolean {
  return getOperationAST(document, operationName)?.operation === OperationTypeNode.QUERY;
}

function armor(): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: 12, ignoreIntrospection: false },
    costLimit: { maxCost: 5000 },
    maxAliases: { n: 15 },
    maxTokens: { n: 2000 },
    maxDirectives: { n: 20 },
    blockFieldSuggestion: { enabled: true },
  });
}

function graphiqlFor(request: Request) {
  // GET /graphql?token=… opens GraphiQL with the token already in its headers.
  const token = new URL(request.url).searchParams.get('token');
  return {
    title: 'prism-ami',
    // SSE: the browser's GraphiQL sends the headers editor's Authorization on every request,
    // whereas its WebSocket connection_init carries no token.
    subscriptionsProtocol: 'SSE' as const,
    ...(token ? { headers: JSON.stringify({ Authorization: `Bearer ${token}` }) } : {}),
  };
}

/** Per token: a burst of mutations, then a steady rate; queries and subscriptions are not limited. */
function rateLimitMutations(perMinute: number, shared: RateLimiter | undefined, logger: Logger): Plugin<Context> {
  const limiter = shared ?? createRateLimiter({ perMinute, burst: mutationBurst(perMinute) });
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      // envelop types these loosely; they are the execution args graphql-js received.
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      if (operation?.operation !== OperationTypeNode.MUTATION) return;
      const decision = await limiter.take(args.contextValue.viewer.user).catch((error: unknown) => {
        if (!(error instanceof RateLimiterUnavailableError)) throw error;
        logger.warn({ err: error }, 'mutation refused: the rate limit store is unavailable');
        return error;
      });
      if (decision instanceof RateLimiterUnavailableError) {
        setResultAndStopExecution({ errors: [rateLimitUnavailable()] });
        return;
      }
      if (decision.ok) return;
      const retryAfter = decision.retryAfterSeconds;
      const message = `Too many mutations: at most ${perMinute} per minute per token; retry in ${retryAfter} s`;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(message, {
            extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'retry-after': String(retryAfter) } } },
          }),
        ],
      });
    },
  };
}

function rateLimitUnavailable(): GraphQLError {
  return new GraphQLError(
    'Service unavailable: the mutation rate limit is counted in Redis, which cannot be reached; retry shortly',
    {
      extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '5' } } },
    },
  );
}

async function contextOf(initial: InitialContext, { auth, services }: YogaOptions): Promise<Context> {
  if (initial.extra?.viewer) return { viewer: initial.extra.viewer, services, requestId: randomUUID() };
  const request = initial.request;
  if (!request) throw unauthenticated('no credentials');
  const header = request.headers.get('authorization');
  const authenticated = await auth.authenticateRequest(header);
  if (!authenticated) throw unauthenticated(header ? 'the token is unknown or revoked' : 'no token was sent');
  const { viewer, snapshot } = authenticated;
  noteRequestUser(viewer.user);
  // The router has settled the id (request-id.ts); an in-process yoga.fetch may come without one.
  return { viewer, snapshot, services, requestId: request.headers.get(REQUEST_ID_HEADER) ?? randomUUID() };
}

export function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(
    `Authentication required: ${reason}. Send "Authorization: Bearer <token>" (create one with: prism-ami token create --user NAME).`,
    {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    },
  );
}

/** Yoga's masking of a result's errors, for results that reach clients past envelop (sse-cohorts.ts). */
export function resultMasker(logger: Logger): (result: ExecutionResult) => ExecutionResult {
  return (result) =>
    result.errors?.length
      ? { ...result, errors: result.errors.map((e) => maskError(e, MASKED_MESSAGE, logger) as GraphQLError) }
      : result;
}

/** Yoga's default message for a masked error. */
const MASKED_MESSAGE = 'Unexpected error.';

function maskError(error: unknown, message: string, logger: Logger): Error {
  const original = isGraphQLError(error) ? error.originalError : error;
  // Expected failures outside a result union (e.g. a bad page size) keep their message.
  if (original instanceof DomainError || original instanceof UnavailableError) {
    return new GraphQLError(original.message, { extensions: { code: original.code } });
  }
  // A wrapper GraphQLError (e.g. `Variable "$input" got invalid value … at "input.public"; …`)
  // keeps its message and path; returning its inner error would drop which field was wrong.
  if (isGraphQLError(original)) return isGraphQLError(error) ? error : original;
  if (isGraphQLError(error) && !original) return error;
  // The request id lets the client's report be matched with this log line.
  const requestId = currentRequestId() ?? randomUUID();
  // The database away (PostgreSQL stopped, the network cut) is not a bug: say so, briefly.
  if (isDatabaseUnavailable(original ?? error)) {
    logger.warn({ err: original ?? error, requestId }, 'database unavailable');
    return new GraphQLError(`The database is unavailable right now; try again shortly (request id ${requestId})`, {
      extensions: { code: 'SERVICE_UNAVAILABLE', requestId, http: { status: 503, headers: { 'retry-after': '5' } } },
    });
  }
  logger.error({ err: original ?? error, requestId }, 'unexpected error');
  return new GraphQLError(`${message} (request id ${requestId})`, {
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  });
}

/**
 * By name as well as by class: CommonJS plugins (GraphQL Armor) load graphql's CJS build, whose
 * GraphQLError is another class than the ESM one; both are the client's to see.
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError');
}

function yogaLogging(logger: Logger): Options['logging'] {
  const line = (...args: unknown[]) => args.map(String).join(' ');
  return {
    debug: (...args: unknown[]) => logger.debug(line(...args)),
    info: (...args: unknown[]) => logger.info(line(...args)),
    warn: (...args: unknown[]) => logger.warn(line(...args)),
    error: (...args: unknown[]) => logger.error(line(...args)),
  };
}
