// List-page answers kept per generation (src/http/page-answers.ts), through yoga with the real
// schema and a counting AMI service: the same page query with the same generation is answered
// again without executing, byte for byte; a new generation, another viewer, other variables or
// another document execute; a document with a field the generation does not cover, and an answer
// with errors, are never kept. And every field a list page can reach is classified.
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AmiRecord } from '../../src/db/amis.js';
import { CATALOG_FIELDS, isCatalogQuery } from '../../src/http/page-answers.js';
import { createYogaServer } from '../../src/http/yoga.js';
import { schema } from '../../src/schema/index.js';
import type { AuthService } from '../../src/services/auth.js';
import type { Services } from '../../src/services/index.js';
import type { Viewer } from '../../src/services/viewer.js';
import { parse } from 'graphql';

const PAGE =
  '{ userAmis(first: 2) { edges { cursor node { amiId name tags { key value } } } pageInfo { hasNextPage } totalCount } }';

let generation: string;
let executed: number;
let failNext: boolean;

function ami(name: string): AmiRecord {
  return {
    amiId: `ami-${name}`,
    region: 'us-east-1',
    owner: 'alice',
    name,
    state: 'AVAILABLE',
    visibility: 'PRIVATE',
    createdAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 1),
    snapshotIds: [],
    tags: [{ key: 'team', value: 'genomics' }],
  } as unknown as AmiRecord;
}

function list(viewer: Viewer, args: { first?: number | null }) {
  executed += 1;
  if (failNext) {
    failNext = false;
    return Promise.reject(new Error('database went away'));
  }
  // Each execution gives a page of its own, so a kept answer is told apart from a new one.
  const items = [ami(`${viewer.user}-${executed}`)].slice(0, args.first ?? 20);
  return Promise.resolve({
    items,
    hasNextPage: false,
    hasPreviousPage: false,
    totalCount: () => Promise.resolve(items.length),
    cursorOf: (a: AmiRecord) => a.amiId,
  });
}

const yoga = createYogaServer({
  schema,
  services: { amis: { listUser: list, listCommunity: list } } as unknown as Services,
  auth: {
    authenticateRequest: (header: string | null | undefined) =>
      Promise.resolve({ viewer: { user: header?.slice('Bearer '.length) ?? '' }, snapshot: { amiGeneration: generation } }),
  } as Partial<AuthService> as AuthService,
  security: { corsOrigins: [], introspection: false, graphiql: false, maxBodyBytes: 100_000, mutationsPerMinute: 5 },
  logger: pino({ level: 'silent' }),
});

async function ask(query: string, options: { user?: string; variables?: Record<string, unknown> } = {}): Promise<string> {
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.user ?? 'alice'}` },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return res.text();
}

beforeEach(() => {
  generation = `g-${Math.random()}`;
  executed = 0;
  failNext = false;
});

describe('list-page answers per generation', () => {
  it('answers the same page query again without executing it, byte for byte, until the generation changes', async () => {
    const first = await ask(PAGE);
    expect(first).toContain('"name":"alice-1"');
    expect(await ask(PAGE)).toBe(first);
    expect(executed).toBe(1);
    generation = 'next';
    expect(await ask(PAGE)).toContain('"name":"alice-2"');
    expect(executed).toBe(2);
  });

  it('executes for another viewer, other variables, and another document', async () => {
    const byVariables = 'query($n: Int) { userAmis(first: $n) { totalCount edges { node { name } } } }';
    await ask(PAGE);
    expect(await ask(PAGE, { user: 'bob' })).toContain('"name":"bob-2"');
    await ask(byVariables, { variables: { n: 1 } });
    await ask(byVariables, { variables: { n: 5 } });
    await ask(byVariables, { variables: { n: 5 } });
    await ask('{ communityAmis { totalCount } }');
    expect(executed).toBe(5);
  });

  it('never keeps a document with a field the generation does not cover, or an answer with errors', async () => {
    const withViewer = '{ userAmis { totalCount } viewer { user } }';
    await ask(withViewer);
    await ask(withViewer);
    expect(executed).toBe(2);
    failNext = true;
    expect(await ask(PAGE)).toContain('"errors"');
    expect(await ask(PAGE)).toContain('"name":"alice-4"');
    expect(executed).toBe(4);
  });
});

describe('which documents are catalog queries', () => {
  it.each([
    ['a page of userAmis', PAGE, true],
    [
      'the community list through fragments',
      '{ communityAmis { ...C } } fragment C on AmiConnection { edges { node { ... on Ami { amiId } } } }',
      true,
    ],
    ['__typename anywhere', '{ __typename userAmis { __typename totalCount } }', true],
    ['Ami.creation', '{ userAmis { edges { node { creation { id } } } } }', false],
    ['another root field', '{ userAmis { totalCount } amiCreations { totalCount } }', false],
    ['introspection', '{ __schema { queryType { name } } }', false],
    ['a mutation', 'mutation { deregisterAmi(input: { amiId: "ami-1" }) { __typename } }', false],
  ])('%s: %s', (_name, query, expected) => {
    expect(isCatalogQuery(schema, parse(query))).toBe(expected);
  });

  it('classifies every field of every type a list page can reach', () => {
    type Named = { name: string; getFields?: () => Record<string, { type: unknown }> };
    const named = (t: unknown): Named => {
      let u = t as Named & { ofType?: unknown };
      while (u.ofType) u = u.ofType as typeof u;
      return u;
    };
    const seen = new Set<string>();
    const visitType = (type: Named) => {
      if (!type.getFields || seen.has(type.name)) return;
      seen.add(type.name);
      for (const [field, def] of Object.entries(type.getFields())) {
        const classified = CATALOG_FIELDS[type.name]?.[field];
        expect(classified, `${type.name}.${field}`).toBeTypeOf('boolean');
        if (classified) visitType(named(def.type));
      }
    };
    const query = schema.getQueryType()!.getFields();
    for (const root of ['userAmis', 'communityAmis']) visitType(named(query[root]!.type));
    expect([...seen].sort()).toEqual(['Ami', 'AmiConnection', 'AmiEdge', 'PageInfo', 'Tag']);
  });
});
