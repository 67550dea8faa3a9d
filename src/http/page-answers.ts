// Responsible for answering a list-page query again without executing it. Dashboards and scripts ask
// for the same page of userAmis or communityAmis over and over between changes; executing the page
// and serializing its JSON cost about as much as a whole `{ __typename }` request
// (bench/README.md §12). An answer is kept per generation of the AMI list (src/db/amis.ts) and
// served only to a request whose authentication read the same generation (RequestSnapshot), with
// the same document, variables and viewer. So no request gets an answer older than its own start,
// on any replica; and only documents whose every field is a function of what the generation covers
// (CATALOG_FIELDS) are kept.
import {
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import { isAsyncIterable } from './cohorts.js';

/**
 * Every field of the types a list page reaches, and whether its value depends only on the AMI
 * list's rows: amis, ami_tags and ami_launch_permissions, whose every write starts a new
 * generation. `Ami.creation` reads the creations table, which changes without one. A field missing
 * here is not cacheable (and test/unit/page-answers.test.ts fails until it is classified).
 */
export const CATALOG_FIELDS: Record<string, Record<string, boolean>> = {
  Query: { userAmis: true, communityAmis: true },
  AmiConnection: { edges: true, pageInfo: true, totalCount: true },
  AmiEdge: { cursor: true, node: true },
  PageInfo: { hasNextPage: true, hasPreviousPage: true, startCursor: true, endCursor: true },
  Tag: { key: true, value: true },
  Ami: {
    id: true,
    amiId: true,
    region: true,
    name: true,
    description: true,
    architecture: true,
    state: true,
    visibility: true,
    createdAt: true,
    sizeGiB: true,
    templateName: true,
    deregisteredReason: true,
    encrypted: true,
    kmsKeyId: true,
    deprecationTime: true,
    deregistrationProtection: true,
    imdsSupport: true,
    ssmParameter: true,
    publisher: true,
    tags: true,
    creation: false,
  },
};

/** Past this many answers of one generation, its memo starts over. */
const ANSWER_LIMIT = 200;

interface Answer {
  result: ExecutionResult;
  /** Serialized by the first request that executed it, when yoga wrote its response. */
  json?: string;
}

/** Whether every operation in `document` is a query reading only CATALOG_FIELDS. */
export function isCatalogQuery(schema: GraphQLSchema, document: DocumentNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walk = { schema, fragments, depth: 0 };
  return document.definitions.every(
    (d) =>
      d.kind !== Kind.OPERATION_DEFINITION ||
      (d.operation === OperationTypeNode.QUERY && catalogSelections(walk, schema.getQueryType()?.name, d.selectionSet)),
  );
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  depth: number;
}

// By type name, not graphql-js's instanceof helpers: the schema may come from the other build of
// graphql (CommonJS or ES) than this module's, as it does under the test runner.
function catalogSelections(walk: Walk, typeName: string | undefined, set: SelectionSetNode): boolean {
  if (!typeName || walk.depth > 20) return false;
  const inner = { ...walk, depth: walk.depth + 1 };
  return set.selections.every((s) => {
    if (s.kind === Kind.INLINE_FRAGMENT) return catalogSelections(inner, s.typeCondition?.name.value ?? typeName, s.selectionSet);
    if (s.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = walk.fragments.get(s.name.value);
      return fragment !== undefined && catalogSelections(inner, fragment.typeCondition.name.value, fragment.selectionSet);
    }
    const field = s.name.value;
    if (field === '__typename') return true;
    if (CATALOG_FIELDS[typeName]?.[field] !== true) return false;
    return !s.selectionSet || catalogSelections(inner, fieldTypeName(walk.schema, typeName, field), s.selectionSet);
  });
}

/** The named type of `typeName.field` (lists and non-null unwrapped). */
function fieldTypeName(schema: GraphQLSchema, typeName: string, field: string): string | undefined {
  const type = schema.getType(typeName) as { getFields?: () => Record<string, { type: unknown }> } | undefined;
  let t = type?.getFields?.()[field]?.type as { name?: string; ofType?: unknown } | undefined;
  while (t?.ofType) t = t.ofType;
  return t?.name;
}

export function pageAnswers(): Plugin<Context> {
  // Per document: a number of its own when it is a catalog query, null when not. yoga parses each
  // distinct query text once (its parser cache), so the same text comes as the same node.
  const documents = new WeakMap<DocumentNode, number | null>();
  let nextId = 0;
  const catalogId = (schema: GraphQLSchema, document: DocumentNode) => {
    let id = documents.get(document);
    if (id === undefined) documents.set(document, (id = isCatalogQuery(schema, document) ? nextId++ : null));
    return id;
  };
  let memo: { generation: string; answers: Map<string, Answer> } | undefined;
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const { snapshot, viewer } = args.contextValue;
      if (!snapshot) return;
      const id = catalogId(args.schema as GraphQLSchema, args.document as DocumentNode);
      if (id === null) return;
      if (memo?.generation !== snapshot.amiGeneration) memo = { generation: snapshot.amiGeneration, answers: new Map() };
      const { answers } = memo;
      const key = `${id} ${JSON.stringify([viewer.user, viewer.admin ?? false, args.operationName ?? null, args.variableValues ?? null])}`;
      const known = answers.get(key);
      if (known) return setResultAndStopExecution(served(known));
      return {
        onExecuteDone({ result, setResult }) {
          // Results with errors are not kept: the next request executes again.
          if (isAsyncIterable(result) || (result as ExecutionResult).errors?.length) return;
          const answer: Answer = { result: result as ExecutionResult };
          if (answers.size >= ANSWER_LIMIT) answers.clear();
          answers.set(key, answer);
          setResult(served(answer));
        },
      };
    },
  };
}

/**
 * The answer as yoga's result processor takes it: it serializes a result with the result's own
 * `stringify` when there is one (as it does for graphql-jit's), so the JSON is made once.
 */
function served(answer: Answer): ExecutionResult {
  return { ...answer.result, stringify: (r: unknown) => (answer.json ??= JSON.stringify(r)) } as ExecutionResult;
}
