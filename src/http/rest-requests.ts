// Responsible for what a REST request may contain (the AMICreationRequest body, the status reference,
// the list's query parameters; as the OpenAPI document in openapi.ts describes them) and for turning
// it into the GraphQL operation's variables. The types are checked here, before GraphQL sees them, so
// that every bad field is reported under its REST name; the values (name rules, regions, page size)
// stay the services' to judge, and their field paths are mapped back by createFieldPath.
import { z } from 'zod';
import type { AmiFilter, CreateAmiInput, RestUserAmisQueryVariables } from '../generated/graphql/graphql.js';

const requiredString = () => z.string({ error: (issue) => (issue.input == null ? 'required' : 'must be a string') });

/** The AMICreationRequest; a null field counts as absent. */
export const createRequestSchema = z.strictObject(
  {
    instance_id: requiredString(),
    name: requiredString(),
    description: z.string().nullish(),
    template_name: z.string().nullish(),
    public: z.boolean().nullish(),
    no_reboot: z.boolean().nullish(),
    multi_region: z.array(z.string()).nullish(),
    share_with_accounts: z.array(z.string()).nullish(),
    tags: z.record(z.string(), z.string()).nullish(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'The body must be a JSON object (an AMICreationRequest)' : undefined) },
);

export type CreateRequest = z.infer<typeof createRequestSchema>;

/** Each request field and the CreateAmiInput field it becomes. */
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
} as const satisfies Record<keyof CreateRequest, keyof CreateAmiInput>;

const CREATE_FIELD_OF: Record<string, string> = {
  ...Object.fromEntries(Object.entries(CREATE_FIELDS).map(([rest, gql]) => [gql, rest])),
  idempotencyKey: 'Idempotency-Key',
};

/**
 * The mutation's input. The request sends tags as a {key: value} map and GraphQL takes [{key, value}]:
 * tagKeys keeps their order, so that createFieldPath can name a bad tag by its key.
 */
export function toCreateInput(
  request: CreateRequest,
  idempotencyKey: string | undefined,
): { input: CreateAmiInput; tagKeys: string[] } {
  const input: Record<string, unknown> = {};
  for (const [restName, value] of Object.entries(request)) {
    if (value !== undefined && value !== null) input[CREATE_FIELDS[restName as keyof CreateRequest]] = value;
  }
  const tagKeys = Object.keys(request.tags ?? {});
  if (request.tags) input.tags = Object.entries(request.tags).map(([key, value]) => ({ key, value }));
  if (idempotencyKey !== undefined) input.idempotencyKey = idempotencyKey;
  return { input: input as unknown as CreateAmiInput, tagKeys };
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

/** The {ref} of /ami/status/{ref}, still percent-encoded as it came in the path. */
export const statusParamsSchema = z.object({
  ref: z.string().transform((raw, ctx) => {
    try {
      return decodeURIComponent(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid percent-encoding' });
      return z.NEVER;
    }
  }),
});

/** `key=value` → a tag (the value may hold more `=`). */
const tagParam = z.string().transform((text, ctx) => {
  const at = text.indexOf('=');
  if (at >= 0) return { key: text.slice(0, at), value: text.slice(at + 1) };
  ctx.addIssue({ code: 'custom', message: `"${text}" is not key=value` });
  return z.NEVER;
});

/** The query of /ami/list. limit is only checked to be an Int here; its range is the page size's rule. */
export const listQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.int32())
    .optional(),
  cursor: z.string().optional(),
  region: z.string().optional(),
  template_name: z.string().optional(),
  tag: z.array(tagParam).optional(),
});

/** Parameters that may be repeated; the others count once (the first value). */
const REPEATED_PARAMS = new Set(['tag']);

/** The query string as the plain object listQuerySchema checks. */
export function queryParams(query: URLSearchParams): Record<string, string | string[]> {
  return Object.fromEntries([...new Set(query.keys())].map((k) => [k, REPEATED_PARAMS.has(k) ? query.getAll(k) : query.get(k)!]));
}

export function toListVariables(query: z.infer<typeof listQuerySchema>): RestUserAmisQueryVariables {
  const filter: AmiFilter = {};
  if (query.region !== undefined) filter.region = query.region;
  if (query.template_name !== undefined) filter.templateName = query.template_name;
  if (query.tag?.length) filter.tags = query.tag;
  return {
    ...(query.limit !== undefined ? { first: query.limit } : {}),
    ...(query.cursor !== undefined ? { after: query.cursor } : {}),
    ...(Object.keys(filter).length ? { filter } : {}),
  };
}

const LIST_FIELD_OF: Record<string, string> = {
  first: 'limit',
  after: 'cursor',
  'filter.region': 'region',
  'filter.templateName': 'template_name',
  'filter.tags': 'tag',
};

/** GraphQL argument paths (first, filter.tags.0.key) → the query parameter's name. */
export function listFieldPath(graphqlPath: string): string {
  return LIST_FIELD_OF[graphqlPath] ?? LIST_FIELD_OF[graphqlPath.split('.').slice(0, 2).join('.')] ?? graphqlPath;
}
