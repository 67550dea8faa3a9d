// Responsible for the origin note's REST API (POST /api/v1/ami/create, GET /api/v1/ami/status/{ref},
// GET /api/v1/ami/list) as a thin adapter: each request becomes one GraphQL operation executed by
// yoga in-process with the caller's Authorization and request id, so validation, authentication,
// rate limits and errors have one source of truth. This file only translates shapes: snake_case
// in, the note's JSON out, and each error code to its HTTP status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import {
  RestAmiStatusDocument,
  RestCreateAmiDocument,
  RestUserAmisDocument,
  type AmiFilter,
  type CreateAmiInput,
  type ErrorCode,
  type RestCreationFieldsFragment,
  type RestUserAmisQuery,
} from '../generated/graphql/graphql.js';
import { BodyLimitError, readBody } from './body-limit.js';
import { openApiDocument } from './openapi.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';
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

/** The note's AMICreationRequest. */
const CREATE_FIELDS = {
  instance_id: 'instance',
  name: 'name',
  description: 'description',
  template_name: 'templateName',
  public: 'public',
  no_reboot: 'noReboot',
  multi_region: 'copyToRegions',
  share_with_accounts: 'shareWithAccounts',
  tags: 'tags',
} as const satisfies Record<string, keyof CreateAmiInput>;

const CREATE_FIELD_OF: Record<string, string> = {
  ...Object.fromEntries(Object.entries(CREATE_FIELDS).map(([rest, gql]) => [gql, rest])),
  idempotencyKey: 'Idempotency-Key',
};
const LIST_PARAMS = ['limit', 'cursor', 'region', 'template_name', 'tag'] as const;
const LIST_FIELD_OF: Record<string, string> = {
  first: 'limit',
  after: 'cursor',
  'filter.region': 'region',
  'filter.templateName': 'template_name',
  'filter.tags': 'tag',
};

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

export function createRestApi(options: RestApiOptions): HttpRoute {
  const log = options.logger.child({ component: 'rest' });

  return async (req, res) => {
    const path = pathOf(req);
    if (path !== REST_PREFIX && !path.startsWith(`${REST_PREFIX}/`)) return false;
    try {
      const { route, params } = match(req.method ?? 'GET', path);
      switch (route.path) {
        case '/api/v1/ami/create': {
          const created = await create(req);
          return send(res, 202, created, { location: `${REST_PREFIX}/ami/status/${encodeURIComponent(String(created.creation_id))}` });
        }
        case '/api/v1/ami/status/{ref}':
          return send(res, 200, await status(req, params[0] ?? ''));
        case '/api/v1/ami/list':
          return send(res, 200, await list(req));
        case '/api/v1/openapi.json':
          return send(res, 200, openApiDocument);
      }
    } catch (err) {
      if (err instanceof RestError) return sendError(req, res, err);
      log.error({ err }, 'REST request failed');
      return sendError(req, res, new RestError('INTERNAL_ERROR', `Unexpected error (request id ${requestIdOf(req)})`));
    }
  };

  async function create(req: IncomingMessage): Promise<Record<string, unknown>> {
    const body = await readJson(req, options.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RestError('VALIDATION_FAILED', 'The body must be a JSON object (an AMICreationRequest)');
    }
    const unknown = Object.keys(body).filter((k) => !(k in CREATE_FIELDS));
    if (unknown.length) {
      throw new RestError(
        'VALIDATION_FAILED',
        `Unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
        unknown.map((field) => ({ field, message: `unknown field; expected one of ${Object.keys(CREATE_FIELDS).join(', ')}` })),
      );
    }
    const input: Record<string, unknown> = {};
    for (const [restName, value] of Object.entries(body as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      input[CREATE_FIELDS[restName as keyof typeof CREATE_FIELDS]] = value;
    }
    // The note sends tags as a {key: value} map; GraphQL takes [{key, value}] (and checks the values).
    const tagKeys: string[] = [];
    if (isPlainObject(input.tags)) {
      input.tags = Object.entries(input.tags).map(([key, value]) => {
        tagKeys.push(key);
        return { key, value };
      });
    }
    const idempotencyKey = header(req, 'idempotency-key');
    if (idempotencyKey !== undefined) input.idempotencyKey = idempotencyKey;

    const mapPath = (p: string) => createFieldPath(p, tagKeys);
    const data = await execute(req, RestCreateAmiDocument, QUERIES.create, { input: input as CreateAmiInput }, mapPath);
    const result = data.createAmi;
    if (result.__typename !== 'CreateAmiSuccess') {
      throw new RestError(
        result.code,
        result.message,
        result.__typename === 'ValidationError' ? result.fieldErrors.map((f) => ({ field: mapPath(f.path), message: f.message })) : [],
        {},
        result.__typename === 'Ec2Error' && result.ec2Code ? { ec2_code: result.ec2Code } : {},
      );
    }
    return toCreationResult(result.creation);
  }

  async function status(req: IncomingMessage, rawRef: string): Promise<Record<string, unknown>> {
    let ref: string;
    try {
      ref = decodeURIComponent(rawRef);
    } catch {
      throw new RestError('VALIDATION_FAILED', 'The reference is not valid percent-encoding', [{ field: 'ref', message: 'invalid encoding' }]);
    }
    const data = await execute(req, RestAmiStatusDocument, QUERIES.status, { ref }, (p) => (p === 'ref' ? 'ref' : p));
    if (!data.amiStatus) {
      throw ref.startsWith('ami-')
        ? new RestError('AMI_NOT_FOUND', `No AMI creation of yours produced ${ref}`)
        : new RestError('CREATION_NOT_FOUND', `No AMI creation of yours has the id ${ref}`);
    }
    return toCreationResult(data.amiStatus);
  }

  async function list(req: IncomingMessage): Promise<Record<string, unknown>> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const unknown = [...new Set(query.keys())].filter((k) => !(LIST_PARAMS as readonly string[]).includes(k));
    if (unknown.length) {
      throw new RestError(
        'VALIDATION_FAILED',
        `Unknown query parameter${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
        unknown.map((field) => ({ field, message: `unknown parameter; expected one of ${LIST_PARAMS.join(', ')}` })),
      );
    }
    const filter: AmiFilter = {};
    const region = query.get('region');
    if (region !== null) filter.region = region;
    const template = query.get('template_name');
    if (template !== null) filter.templateName = template;
    const tags = query.getAll('tag');
    if (tags.length) {
      const bad = tags.filter((t) => !t.includes('='));
      if (bad.length) {
        throw new RestError('VALIDATION_FAILED', 'tag must be key=value', bad.map((t) => ({ field: 'tag', message: `"${t}" is not key=value` })));
      }
      filter.tags = tags.map((t) => ({ key: t.slice(0, t.indexOf('=')), value: t.slice(t.indexOf('=') + 1) }));
    }
    const limit = query.get('limit');
    const variables = {
      // An integer-looking limit becomes a number; anything else goes as it is and GraphQL rejects it.
      ...(limit !== null ? { first: (/^-?\d+$/.test(limit) ? Number(limit) : limit) as number } : {}),
      ...(query.get('cursor') !== null ? { after: query.get('cursor') } : {}),
      ...(Object.keys(filter).length ? { filter } : {}),
    };
    const data = await execute(req, RestUserAmisDocument, QUERIES.list, variables, (p) => LIST_FIELD_OF[p] ?? LIST_FIELD_OF[p.split('.').slice(0, 2).join('.')] ?? p);
    const page = data.userAmis;
    return {
      amis: page.edges.map((e) => toAmiInfo(e.node)),
      total_count: page.totalCount,
      next_cursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
    };
  }

  async function execute<R, V>(
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
    const response = await options.yoga.fetch(`http://localhost${GRAPHQL_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const result = (await response.json()) as ExecutionResult<R>;
    if (result.errors?.length) throw fromGraphqlErrors(result.errors, response, mapPath);
    if (!result.data) throw new RestError('INTERNAL_ERROR', `The GraphQL operation returned no data (request id ${requestIdOf(req)})`);
    return result.data;
  }
}

/** Top-level GraphQL errors (not result-union members) → one REST error. */
export function fromGraphqlErrors(
  errors: readonly GraphQLFormattedError[],
  response: { status: number; headers: Headers },
  mapPath: (graphqlPath: string) => string = (p) => p,
): RestError {
  const first = errors[0]!;
  const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
  if (code === 'UNAUTHENTICATED' || response.status === 401) return new RestError('UNAUTHENTICATED', first.message, [], { 'www-authenticate': 'Bearer' });
  if (code === 'RATE_LIMITED') {
    const retryAfter = response.headers.get('retry-after');
    return new RestError('RATE_LIMITED', first.message, [], retryAfter ? { 'retry-after': retryAfter } : {});
  }
  // Variables that do not fit the schema (a string for a boolean, a missing name): GraphQL's own checks.
  if (code === 'BAD_USER_INPUT' || (response.status === 400 && errors.every((e) => e.message.startsWith('Variable "$')))) {
    const fieldErrors = errors.map((e) => ({ field: mapPath(variablePath(e.message)), message: variableProblem(e.message) }));
    return new RestError('VALIDATION_FAILED', `Invalid request: ${fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ')}`, fieldErrors);
  }
  if (code && code in HTTP_STATUS) {
    const fieldErrors = Array.isArray(first.extensions?.fieldErrors)
      ? (first.extensions.fieldErrors as { path: string; message: string }[]).map((f) => ({ field: mapPath(f.path), message: f.message }))
      : [];
    return new RestError(code as RestErrorCode, first.message, fieldErrors);
  }
  return new RestError('INTERNAL_ERROR', first.message);
}

/** `Variable "$input" got invalid value 5 at "input.tags[0].value"; …` → input.tags.0.value */
function variablePath(message: string): string {
  const at = /got invalid value .*? at "([^"]+)"/.exec(message)?.[1];
  const variable = /^Variable "\$(\w+)"/.exec(message)?.[1] ?? '';
  let path = (at ?? variable).replace(/\[(\d+)\]/g, '.$1');
  const missing = /Field "(\w+)" of required type/.exec(message)?.[1];
  if (missing) path = `${path}.${missing}`;
  return path;
}

function variableProblem(message: string): string {
  const parts = message.split('; ');
  return parts.length > 1 ? parts.slice(1).join('; ') : message;
}

/** GraphQL input paths (input.templateName, input.tags.3.key) → the request's own names. */
export function createFieldPath(graphqlPath: string, tagKeys: readonly string[] = []): string {
  const parts = graphqlPath.split('.');
  if (parts[0] === 'input') parts.shift();
  const [head = '', ...rest] = parts;
  if (head === 'tags' && rest[0] !== undefined && /^\d+$/.test(rest[0])) {
    const key = tagKeys[Number(rest[0])];
    if (key !== undefined) return `tags.${key}`;
  }
  return [CREATE_FIELD_OF[head] ?? head, ...rest].join('.');
}

/** The note's AMICreationResult / API response format. */
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
      c.regions.map((r) => [r.region, { ami_id: r.amiId, status: r.status.toLowerCase(), progress: r.progress, message: r.message }]),
    ),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    completed_at: c.completedAt,
  };
}

type AmiNode = RestUserAmisQuery['userAmis']['edges'][number]['node'];

/** The note's AMIInfo. */
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
  res.writeHead(HTTP_STATUS[err.code], { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...err.headers });
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
