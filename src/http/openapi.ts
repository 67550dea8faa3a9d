// The OpenAPI 3.1 description of the REST compatibility API (src/http/rest.ts), served at
// GET /api/v1/openapi.json. Hand-written as a typed object; test/ops/rest.test.ts checks that its
// paths are exactly the adapter's routes and that real answers match its schemas.

type Schema = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: (string | number | null)[];
  format?: string;
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  $ref?: string;
};

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description: string;
  schema: Schema;
  explode?: boolean;
}

interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: Record<string, { schema: Schema }>;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, Response | { $ref: string }>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: `3.1.${number}`;
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  paths: Record<string, Partial<Record<'get' | 'post', Operation>>>;
  components: {
    schemas: Record<string, Schema>;
    responses: Record<string, Response>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
  };
  security: Record<string, string[]>[];
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const error = (name: string) => ({ $ref: `#/components/responses/${name}` });
const nullable = (type: string, description: string, extra: Omit<Schema, 'type' | 'description'> = {}): Schema => ({
  type: [type, 'null'],
  description,
  ...extra,
});

const CREATION_STATUS = ['pending', 'in_progress', 'completed', 'partially_completed', 'failed', 'cancelled'];

export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'prism-ami REST API (compatibility)',
    version: '1',
    description:
      'The REST endpoints of the original Prism design note, kept for existing clients. Each request runs the ' +
      'matching GraphQL operation of this server (/graphql), with the same validation, authentication and errors. ' +
      'New clients should use GraphQL: it also streams progress (subscription amiProgress).',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  paths: {
    '/api/v1/ami/create': {
      post: {
        operationId: 'createAmi',
        summary: 'Start creating an AMI from an instance',
        description:
          'Runs the createAmi mutation. Answers 202 with the new creation; follow it with GET /api/v1/ami/status/{creation_id}.',
        tags: ['ami'],
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            description: 'A retry with the same key returns the first creation instead of starting a second one',
            schema: { type: 'string' },
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('AMICreationRequest') } } },
        responses: {
          '202': {
            description: 'The creation started',
            headers: { Location: { description: 'Where to follow it', schema: { type: 'string' } } },
            content: { 'application/json': { schema: ref('AMICreationResult') } },
          },
          '400': error('ValidationFailed'),
          '401': error('Unauthenticated'),
          '403': error('Forbidden'),
          '404': error('NotFound'),
          '409': error('Conflict'),
          '413': error('PayloadTooLarge'),
          '415': error('UnsupportedMediaType'),
          '429': error('RateLimited'),
          '502': error('Ec2Error'),
        },
      },
    },
    '/api/v1/ami/status/{ref}': {
      get: {
        operationId: 'getAmiStatus',
        summary: 'Status of an AMI creation',
        description: 'Runs the amiStatus query: by creation id, or by an AMI id (source or copy) a creation produced.',
        tags: ['ami'],
        parameters: [
          {
            name: 'ref',
            in: 'path',
            required: true,
            description: 'A creation id or an AMI id (ami-…)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'The creation', content: { 'application/json': { schema: ref('AMICreationResult') } } },
          '400': error('ValidationFailed'),
          '401': error('Unauthenticated'),
          '404': error('NotFound'),
          '429': error('RateLimited'),
        },
      },
    },
    '/api/v1/ami/list': {
      get: {
        operationId: 'listUserAmis',
        summary: "The caller's AMIs, one entry per region",
        description: 'Runs the userAmis query, newest first, one page at a time.',
        tags: ['ami'],
        parameters: [
          {
            name: 'limit',
            in: 'query',
            description: 'Page size (default 20, at most 100)',
            schema: { type: 'integer', minimum: 1, maximum: 100 },
          },
          { name: 'cursor', in: 'query', description: 'next_cursor of the previous page', schema: { type: 'string' } },
          { name: 'region', in: 'query', description: 'Only AMIs in this region', schema: { type: 'string' } },
          {
            name: 'template_name',
            in: 'query',
            description: 'Only AMIs associated with this template',
            schema: { type: 'string' },
          },
          {
            name: 'tag',
            in: 'query',
            explode: true,
            description: 'key=value; repeat for more (all must match)',
            schema: { type: 'array', items: { type: 'string' } },
          },
        ],
        responses: {
          '200': { description: 'One page of AMIs', content: { 'application/json': { schema: ref('AMIList') } } },
          '400': error('ValidationFailed'),
          '401': error('Unauthenticated'),
          '429': error('RateLimited'),
        },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: {
          '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'An API token (prism-ami token create --user NAME)' },
    },
    schemas: {
      AMICreationRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['instance_id', 'name'],
        properties: {
          instance_id: { type: 'string', description: "An instance id (i-…) or the value of the instance's Name tag" },
          name: { type: 'string', description: "AMI name: 3–128 letters, digits, spaces and ( ) [ ] . / - ' @ _" },
          description: { type: 'string', description: 'AMI description (up to 255 characters)' },
          template_name: { type: 'string', description: 'Template to associate the AMI with' },
          public: { type: 'boolean', description: 'Make the AMI (and its copies) public once available' },
          no_reboot: { type: 'boolean', description: 'Do not reboot the instance (the file systems may be inconsistent)' },
          multi_region: {
            type: 'array',
            items: { type: 'string' },
            description: 'Regions to copy the AMI to once it is available',
          },
          share_with_accounts: {
            type: 'array',
            items: { type: 'string' },
            description: '12-digit AWS account ids to grant launch permission to',
          },
          tags: { type: 'object', additionalProperties: { type: 'string' }, description: 'Tags for the AMI and its snapshots' },
        },
      },
      AMICreationResult: {
        type: 'object',
        required: [
          'creation_id',
          'ami_id',
          'name',
          'template_name',
          'instance_id',
          'region',
          'status',
          'stage',
          'progress',
          'message',
          'estimated_completion_minutes',
          'elapsed_time_minutes',
          'storage_cost',
          'creation_cost',
          'public',
          'tags',
          'region_results',
          'created_at',
        ],
        properties: {
          creation_id: { type: 'string' },
          ami_id: nullable('string', 'The source-region AMI id, once EC2 has returned it'),
          name: { type: 'string' },
          description: nullable('string', 'AMI description'),
          template_name: nullable('string', 'Associated template'),
          instance_id: { type: 'string', description: 'The source instance id' },
          region: { type: 'string', description: 'The source region' },
          status: { type: 'string', enum: CREATION_STATUS },
          stage: { type: 'string', enum: ['validating', 'snapshotting', 'copying', 'publishing', 'done'] },
          progress: { type: 'integer', minimum: 0, maximum: 100, description: 'Never decreases' },
          message: { type: 'string', examples: ['Creating snapshot - 75% complete'] },
          failure_reason: nullable('string', 'Why it failed'),
          estimated_completion_minutes: nullable('integer', 'Minutes left (rounded up); null when unknown or finished'),
          elapsed_time_minutes: { type: 'integer', description: 'Whole minutes since the creation started' },
          storage_cost: {
            type: 'number',
            description: 'Snapshot storage in USD per month, all regions (upper bound: full size)',
          },
          creation_cost: { type: 'number', description: 'One-time USD: cross-region transfer for the copies' },
          size_gb: { type: 'integer', description: 'Total size of the EBS volumes in GiB' },
          public: { type: 'boolean' },
          no_reboot: { type: 'boolean' },
          tags: { type: 'object', additionalProperties: { type: 'string' } },
          region_results: {
            type: 'object',
            additionalProperties: ref('RegionAMIResult'),
            description: 'One entry per copy region',
          },
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
          completed_at: nullable('string', 'When it finished', { format: 'date-time' }),
        },
      },
      RegionAMIResult: {
        type: 'object',
        required: ['ami_id', 'status', 'progress'],
        properties: {
          ami_id: nullable('string', 'The copy in that region'),
          status: { type: 'string', enum: CREATION_STATUS },
          progress: { type: 'integer', minimum: 0, maximum: 100 },
          message: nullable('string', 'What the copy is doing'),
        },
      },
      AMIInfo: {
        type: 'object',
        required: ['ami_id', 'name', 'architecture', 'created', 'region', 'state', 'visibility', 'public', 'tags'],
        properties: {
          ami_id: { type: 'string' },
          name: { type: 'string' },
          description: nullable('string', 'AMI description'),
          architecture: nullable('string', 'x86_64, arm64, …'),
          created: { type: 'string', format: 'date-time' },
          region: { type: 'string' },
          state: { type: 'string', enum: ['pending', 'available', 'failed', 'deregistered'] },
          visibility: { type: 'string', enum: ['private', 'shared', 'public'] },
          public: { type: 'boolean' },
          size_gb: nullable('integer', 'Total size of its EBS volumes in GiB'),
          template_name: nullable('string', 'Associated template'),
          publisher: { type: 'string', description: 'The prism-ami user who created it' },
          tags: { type: 'object', additionalProperties: { type: 'string' } },
          creation_id: nullable('string', 'The creation that produced it'),
          storage_cost: nullable('number', 'USD per month of its creation (all regions)'),
          creation_cost: nullable('number', 'One-time USD of its creation'),
        },
      },
      AMIList: {
        type: 'object',
        required: ['amis', 'total_count', 'next_cursor'],
        properties: {
          amis: { type: 'array', items: ref('AMIInfo') },
          total_count: { type: 'integer' },
          next_cursor: nullable('string', 'Pass as cursor for the next page; null on the last page'),
        },
      },
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message', 'field_errors'],
            properties: {
              code: {
                type: 'string',
                enum: [
                  'VALIDATION_FAILED',
                  'UNAUTHENTICATED',
                  'FORBIDDEN',
                  'PUBLIC_ACCESS_BLOCKED',
                  'INSTANCE_NOT_FOUND',
                  'AMI_NOT_FOUND',
                  'CREATION_NOT_FOUND',
                  'NOT_FOUND',
                  'METHOD_NOT_ALLOWED',
                  'INSTANCE_AMBIGUOUS',
                  'AMI_NAME_TAKEN',
                  'INSTANCE_STATE_INVALID',
                  'CREATION_FINISHED',
                  'AMI_STATE_INVALID',
                  'PAYLOAD_TOO_LARGE',
                  'UNSUPPORTED_MEDIA_TYPE',
                  'RATE_LIMITED',
                  'LIMIT_EXCEEDED',
                  'INTERNAL_ERROR',
                  'EC2_ERROR',
                ],
              },
              message: { type: 'string' },
              field_errors: { type: 'array', items: ref('FieldError') },
              request_id: { type: 'string', description: 'Also in the x-request-id response header' },
              ec2_code: { type: 'string', description: "EC2's error code, for EC2_ERROR" },
            },
          },
        },
      },
      FieldError: {
        type: 'object',
        required: ['field', 'message'],
        properties: {
          field: { type: 'string', description: 'The request field, e.g. name, tags.team, multi_region.1' },
          message: { type: 'string' },
        },
      },
    },
    responses: {
      ValidationFailed: errorResponse('VALIDATION_FAILED: the request is invalid; field_errors names each bad field'),
      Unauthenticated: errorResponse('UNAUTHENTICATED: no token, or an unknown or revoked one'),
      Forbidden: errorResponse("FORBIDDEN (another user's resource) or PUBLIC_ACCESS_BLOCKED (the account blocks public AMIs)"),
      NotFound: errorResponse('INSTANCE_NOT_FOUND, AMI_NOT_FOUND, CREATION_NOT_FOUND, or NOT_FOUND (no such endpoint)'),
      Conflict: errorResponse(
        'INSTANCE_AMBIGUOUS, AMI_NAME_TAKEN, or a state conflict: INSTANCE_STATE_INVALID, CREATION_FINISHED, AMI_STATE_INVALID (409, not 422: the request is valid, the resource is in the wrong state)',
      ),
      PayloadTooLarge: errorResponse('PAYLOAD_TOO_LARGE: the body exceeds MAX_BODY_BYTES'),
      UnsupportedMediaType: errorResponse('UNSUPPORTED_MEDIA_TYPE: the body must be application/json'),
      RateLimited: errorResponse(
        'RATE_LIMITED: too many mutations for this token (see Retry-After); LIMIT_EXCEEDED: too many active creations for this user',
      ),
      Ec2Error: errorResponse('EC2_ERROR: EC2 refused or failed the request (ec2_code has its code)'),
    },
  },
};

function errorResponse(description: string): Response {
  return { description, content: { 'application/json': { schema: ref('Error') } } };
}
