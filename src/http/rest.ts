// Responsible for the REST API of the original Prism daemon (POST /api/v1/ami/create, GET
// /api/v1/ami/status/{ref}, GET /api/v1/ami/list; described by openapi.ts), kept for its clients as a
// thin adapter: each request is checked against its schema (rest-requests.ts), then becomes one
// GraphQL operation executed by yoga in-process with the caller's Authorization and request id, so
// authentication, rate limits and the services' validation have one source of truth. This file
// translates shapes: snake_case in, the original API's JSON out, and each error code to its HTTP status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import {
  RestAmiStatusDocument,
  RestCreateAmiDocument,
  RestUserAmisDocument,
  type ErrorCode,
  type RestCreationFieldsFragment,
  type RestUserAmisQuery,
} from '../generated/graphql/graphql.js';
import { z } from 'zod';
import { BodyLimitError, discardBody, readBody } from './body-limit.js';
import { openApiDocument } from './openapi.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';
import {
  createFieldPath,
  createRequestSchema,
  listFieldPath,
  listQuerySchema,
  queryParams,
  statusParamsSchema,
  toCreateInput,
  toListVariables,
} from './rest-requests.js';
import { pathOf, type HttpRoute } from './router.js';
import { GRAPHQL_PATH } from './yoga.js';

export const REST_PREFIX = '/api/v1';

/** Every REST route; the OpenAPI document describes exactly these (a test holds them together). */
export const REST_ROUTES = [
  { method: 'POST', path: '/api/v1/ami/create', pattern: /^\/api\/v1\/ami\/create$/ },
  { method: 'GET', path: '/api/v1/ami/status/{ref}', pattern: /^\/api\/v1\/ami\/status\/([^/]+)$/ },
  { method: 'GET', path: '/api/v1/ami/list', pattern: /^\/api\/v1\/ami\/list$/ },
  { method: 'GET', path: '/api/v1/openapi.json', pattern: /^\/api\/v1\/openapi\.json$/ },
] as const;

type RestRoute = (typeof REST_ROUTES)[number];

/** Codes of the GraphQL layer (top-level errors) and of HTTP itself, beside the contract's ErrorCode. */
export type RestErrorCode =
  | ErrorCode
  | 'UNAUTHENTICATED'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_ERROR';

/**
 * State conflicts (the instance is not running or stopped, the creation is already finished, the
 * AMI is not available) answer 409 Conflict rather than 422: the request is well formed and would
 * succeed against the resource in another state, which is what 409 means (RFC 9110 §15.5.10).
 */
export const HTTP_STATUS: Record<RestErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PUBLIC_ACCESS_BLOCKED: 403,
  INSTANCE_NOT_FOUND: 404,
  AMI_NOT_FOUND: 404,
  CREATION_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INSTANCE_AMBIGUOUS: 409,
  AMI_NAME_TAKEN: 409,
  INSTANCE_STATE_INVALID: 409,
  CREATION_FINISHED: 409,
  AMI_STATE_INVALID: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  EC2_ERROR: 502,
};

export interface RestFieldError {
  field: string;
  message: string;
}

export class RestError extends Error {
  constructor(
    readonly code: RestErrorCode,
    message: string,
    readonly fieldErrors: RestFieldError[] = [],
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RestError';
  }
}

const QUERIES = {
  create: print(RestCreateAmiDocument),
  status: print(RestAmiStatusDocument),
  list: print(RestUserAmisDocument),
};

export interface RestApiOptions {
  /** yoga's fetch: the operation runs through every plugin exactly as a GraphQL client's would. */
  yoga: { fetch: (input: string, init: RequestInit) => Response | Promise<Response> };
  maxBodyBytes: number;
  logger: Logger;
}

/** What every handler needs: the options, and the adapter's own logger. */
interface Rest extends RestApiOptions {
  log: Logger;
}

export function createRestApi(options: RestApiOptions): HttpRoute {
  const rest: Rest = { ...options, log: options.logger.child({ component: 'rest' }) };
  return (req, res) => handle(rest, req, res);
}

async function handle(rest: Rest, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const path = pathOf(req);
  if (path !== REST_PREFIX && !path.startsWith(`${REST_PREFIX}/`)) return false;
  try {
    const { route, params } = match(req.method ?? 'GET', path);
    switch (route.path) {
      case '/api/v1/ami/create': {
        const created = await create(rest, req);
        return send(res, 202, created, {
          location: `${REST_PREFIX}/ami/status/${encodeURIComponent(String(created.creation_id))}`,
        });
      }
      case '/api/v1/ami/status/{ref}':
        return send(res, 200, await status(rest, req, params[0] ?? ''));
      case '/api/v1/ami/list':
        return send(res, 200, await list(rest, req));
      case '/api/v1/openapi.json':
        return send(res, 200, openApiDocument);
    }
  } catch (err) {
    // An answer given before the body was read (404, 405, 415, …) waits for it, so the client can read it.
    await discardBody(req, rest.maxBodyBytes);
    if (err instanceof RestError) return sendError(req, res, err);
    rest.log.error({ err }, 'REST request failed');
    return sendError(req, res, new RestError('INTERNAL_ERROR', `Unexpected error (request id ${requestIdOf(req)})`));
  }
}

async function create(rest: Rest, req: IncomingMessage): Promise<Record<string, unknown>> {
  const request = parseRequest(createRequestSchema, await readJson(req, rest.maxBodyBytes), 'field');
  const { input, tagKeys } = toCreateInput(request, header(req, 'idempotency-key'));
  const mapPath = (p: string) => createFieldPath(p, tagKeys);
  const data = await execute(rest, req, RestCreateAmiDocument, QUERIES.create, { input }, mapPath);
  const result = data.createAmi;
  if (result.__typename === 'CreateAmiSuccess') return toCreationResult(result.creation);
  throw new RestError(
    result.code,
    result.message,
    result.__typename === 'ValidationError'
      ? result.fieldErrors.map((f) => ({ field: mapPath(f.path), message: f.message }))
      : [],
    {},
    result.__typename === 'Ec2Error' && result.ec2Code ? { ec2_code: result.ec2Code } : {},
  );
}

async function status(rest: Rest, req: IncomingMessage, rawRef: string): Promise<Record<string, unknown>> {
  const { ref } = parseRequest(statusParamsSchema, { ref: rawRef }, 'parameter');
  const data = await execute(rest, req, RestAmiStatusDocument, QUERIES.status, { ref }, (p) => p);
  if (!data.amiStatus) {
    throw ref.startsWith('ami-')
      ? new RestError('AMI_NOT_FOUND', `No AMI creation of yours produced ${ref}`)
      : new RestError('CREATION_NOT_FOUND', `No AMI creation of yours has the id ${ref}`);
  }
  return toCreationResult(data.amiStatus);
}

async function list(rest: Rest, req: IncomingMessage): Promise<Record<string, unknown>> {
  const query = parseRequest(listQuerySchema, queryParams(new URL(req.url ?? '/', 'http://localhost').searchParams), 'parameter');
  const data = await execute(rest, req, RestUserAmisDocument, QUERIES.list, toListVariables(query), listFieldPath);
  const page = data.userAmis;
  return {
    amis: page.edges.map((e) => toAmiInfo(e.node)),
    total_count: page.totalCount,
    next_cursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
  };
}

/**
 * The request checked against its schema, or VALIDATION_FAILED naming every problem: body fields by
 * their path (tags.team, multi_region.0), query and path parameters by their name.
 */
function parseRequest<S extends z.ZodType>(schema: S, value: unknown, kind: 'field' | 'parameter'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  const fieldErrors = parsed.error.issues.flatMap((issue): RestFieldError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((field) => ({ field, message: `unknown ${kind}; expected one of ${known.join(', ')}` }));
    }
    if (issue.path.length === 0) return [];
    return [{ field: kind === 'field' ? issue.path.map(String).join('.') : String(issue.path[0]), message: issue.message }];
  });
  const whole = parsed.error.issues.find((issue) => issue.path.length === 0 && issue.code !== 'unrecognized_keys');
  const message = whole?.message ?? `Invalid request: ${fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ')}`;
  throw new RestError('VALIDATION_FAILED', message, fieldErrors);
}

async function execute<R, V>(
  rest: Rest,
  req: IncomingMessage,
  _doc: TypedDocumentNode<R, V>,
  query: string,
  variables: V,
  mapPath: (graphqlPath: string) => string,
): Promise<R> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const authorization = header(req, 'authorization');
  if (authorization !== undefined) headers.authorization = authorization;
  headers[REQUEST_ID_HEADER] = requestIdOf(req);
  const response = await rest.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as ExecutionResult<R>;
  if (result.errors?.length) throw fromGraphqlErrors(result.errors, response, mapPath);
  if (!result.data)
    throw new RestError('INTERNAL_ERROR', `The GraphQL operation returned no data (request id ${requestIdOf(req)})`);
  return result.data;
}

/** Top-level GraphQL errors (not result-union members) → one REST error. */
export function fromGraphqlErrors(
  errors: readonly GraphQLFormattedError[],
  response: { status: number; headers: Headers },
  mapPath: (graphqlPath: string) => string = (p) => p,
): RestError {
  const first = errors[0]!;
  const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
  if (code === 'UNAUTHENTICATED' || response.status === 401)
    return new RestError('UNAUTHENTICATED', first.message, [], { 'www-authenticate': 'Bearer' });
  if (code === 'RATE_LIMITED') {
    const retryAfter = response.headers.get('retry-after');
    return new RestError('RATE_LIMITED', first.message, [], retryAfter ? { 'retry-after': retryAfter } : {});
  }
  if (code && code in HTTP_STATUS) {
    const fieldErrors = Array.isArray(first.extensions?.fieldErrors)
      ? (first.extensions.fieldErrors as { path: string; message: string }[]).map((f) => ({
          field: mapPath(f.path),
          message: f.message,
        }))
      : [];
    return new RestError(code as RestErrorCode, first.message, fieldErrors);
  }
  // The request schemas check what GraphQL would, so this is a gap between them: still the client's input.
  if (code === 'BAD_USER_INPUT' || response.status === 400) {
    return new RestError('VALIDATION_FAILED', `Invalid request: ${errors.map((e) => e.message).join('; ')}`);
  }
  return new RestError('INTERNAL_ERROR', first.message);
}

/** The original API's AMICreationResult (its response format). */
export function toCreationResult(c: RestCreationFieldsFragment): Record<string, unknown> {
  return {
    creation_id: c.id,
    ami_id: c.amiId,
    name: c.name,
    description: c.description,
    template_name: c.templateName,
    instance_id: c.instanceId,
    region: c.sourceRegion,
    status: c.status.toLowerCase(),
    stage: c.stage.toLowerCase(),
    progress: c.progress,
    message: c.message,
    failure_reason: c.failureReason,
    estimated_completion_minutes: c.estimatedSecondsRemaining === null ? null : Math.ceil(c.estimatedSecondsRemaining / 60),
    elapsed_time_minutes: Math.floor(c.elapsedSeconds / 60),
    storage_cost: c.cost.storageMonthlyUsd,
    creation_cost: c.cost.creationUsd,
    size_gb: c.cost.sizeGiB,
    public: c.public,
    no_reboot: c.noReboot,
    tags: Object.fromEntries(c.tags.map((t) => [t.key, t.value])),
    region_results: Object.fromEntries(
      c.regions.map((r) => [
        r.region,
        { ami_id: r.amiId, status: r.status.toLowerCase(), progress: r.progress, message: r.message },
      ]),
    ),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    completed_at: c.completedAt,
  };
}

type AmiNode = RestUserAmisQuery['userAmis']['edges'][number]['node'];

/** The original API's AMIInfo. */
export function toAmiInfo(a: AmiNode): Record<string, unknown> {
  return {
    ami_id: a.amiId,
    name: a.name,
    description: a.description,
    architecture: a.architecture,
    created: a.createdAt,
    region: a.region,
    state: a.state.toLowerCase(),
    visibility: a.visibility.toLowerCase(),
    public: a.visibility === 'PUBLIC',
    size_gb: a.sizeGiB,
    template_name: a.templateName,
    publisher: a.publisher,
    tags: Object.fromEntries(a.tags.map((t) => [t.key, t.value])),
    creation_id: a.creation?.id ?? null,
    storage_cost: a.creation?.cost.storageMonthlyUsd ?? null,
    creation_cost: a.creation?.cost.creationUsd ?? null,
  };
}

function match(method: string, path: string): { route: RestRoute; params: string[] } {
  const matching = REST_ROUTES.filter((r) => r.pattern.test(path));
  if (matching.length === 0) throw new RestError('NOT_FOUND', `No REST endpoint at ${path}; see ${REST_PREFIX}/openapi.json`);
  const route = matching.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
  if (!route) {
    const allow = [...new Set(matching.map((r) => r.method))].join(', ');
    throw new RestError('METHOD_NOT_ALLOWED', `Use ${allow} for ${path}`, [], { allow });
  }
  return { route, params: route.pattern.exec(path)!.slice(1) };
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = header(req, 'content-type');
  if (type !== undefined && !/\bjson\b/i.test(type)) {
    throw new RestError('UNSUPPORTED_MEDIA_TYPE', `Send the body as application/json (got ${type.slice(0, 80)})`);
  }
  const text = await readBody(req, maxBytes).catch((err: unknown) => {
    throw err instanceof BodyLimitError ? new RestError('PAYLOAD_TOO_LARGE', err.message, [], { connection: 'close' }) : err;
  });
  if (!text.trim()) throw new RestError('VALIDATION_FAILED', 'The body is empty; send an AMICreationRequest as JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RestError('VALIDATION_FAILED', `The body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extraHeaders });
  res.end(JSON.stringify(body));
  return true;
}

function sendError(req: IncomingMessage, res: ServerResponse, err: RestError): true {
  res.writeHead(HTTP_STATUS[err.code], {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...err.headers,
  });
  res.end(
    JSON.stringify({
      error: { code: err.code, message: err.message, field_errors: err.fieldErrors, request_id: requestIdOf(req), ...err.extra },
    }),
  );
  return true;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
