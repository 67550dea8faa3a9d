// The origin note's REST API over the simulator: create/status/list in the note's shape, every
// contract error code answered with its HTTP status and JSON error, and an OpenAPI document that
// describes exactly the routes the server has (every answer here is checked against it).
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_STATUS, REST_ROUTES, fromGraphqlErrors, type RestErrorCode } from '../../src/http/rest.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { schema } from '../../src/schema/index.js';
import { eventually, ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { schemaProblems, type JsonSchema } from './support.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & {
    error?: { code: string; message: string; field_errors: { field: string; message: string }[] };
  };
}

/** Every (route, method, status) the tests saw; the last test checks the document lists them all. */
const seen = new Set<string>();

function routeOf(method: string, path: string) {
  return REST_ROUTES.find((r) => r.method === method && r.pattern.test(path.split('?')[0]!));
}

async function call(
  t: TestApp,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? t.token : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(new URL(path, t.url), {
    method,
    headers,
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
  });
  const body = (await res.json()) as Answer['body'];
  const route = routeOf(method, path);
  if (route) {
    seen.add(`${method} ${route.path} ${res.status}`);
    const op = openApiDocument.paths[route.path]?.[method.toLowerCase() as 'get' | 'post'];
    const documented = op?.responses[String(res.status)];
    expect(documented, `${method} ${route.path} answered an undocumented ${res.status}: ${JSON.stringify(body)}`).toBeDefined();
    const response = documented && '$ref' in documented ? resolve(documented.$ref) : documented;
    const bodySchema = (response as { content?: Record<string, { schema: JsonSchema }> }).content?.['application/json']?.schema;
    if (bodySchema) expect(schemaProblems(body, bodySchema, openApiDocument), JSON.stringify(body)).toEqual([]);
  }
  return { status: res.status, headers: res.headers, body };
}

function resolve(pointer: string): unknown {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], openApiDocument);
}

function expectError(a: Answer, status: number, code: string): void {
  expect({ status: a.status, code: a.body.error?.code }, JSON.stringify(a.body)).toEqual({ status, code });
  expect(a.body.error?.message).toEqual(expect.any(String));
}

describe('REST API against the simulator', () => {
  let t: TestApp;
  let sim: EC2Client;
  beforeAll(async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
    sim = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
  });
  afterAll(async () => {
    sim.destroy();
    await t.stop();
  });

  it('creates an AMI (202), reports its status by creation id and AMI id, and lists it in the note shape', async () => {
    const created = await call(t, 'POST', '/api/v1/ami/create', {
      body: {
        instance_id: 'demo-workstation',
        name: 'rest-python-env',
        description: 'Custom Python ML environment',
        template_name: 'custom-ml-env',
        no_reboot: true,
        multi_region: ['us-west-2'],
        tags: { team: 'bio', project: 'genomes' },
      },
    });
    expect(created.status).toBe(202);
    const id = created.body.creation_id as string;
    expect(created.headers.get('location')).toBe(`/api/v1/ami/status/${id}`);
    expect(created.body).toMatchObject({
      template_name: 'custom-ml-env',
      instance_id: expect.stringMatching(/^i-/) as unknown,
      name: 'rest-python-env',
      no_reboot: true,
      public: false,
      tags: { team: 'bio', project: 'genomes' },
      region: 'us-east-1',
    });
    expect(['pending', 'in_progress']).toContain(created.body.status);
    expect(Object.keys(created.body.region_results as object)).toEqual(['us-west-2']);

    const done = await eventually(async () => {
      const s = await call(t, 'GET', `/api/v1/ami/status/${id}`);
      expect(s.status).toBe(200);
      return s.body.status === 'completed' ? s.body : undefined;
    });
    expect(done).toMatchObject({
      creation_id: id,
      ami_id: expect.stringMatching(/^ami-/) as unknown,
      progress: 100,
      estimated_completion_minutes: null,
      elapsed_time_minutes: 0,
      region_results: { 'us-west-2': { status: 'completed', progress: 100, ami_id: expect.stringMatching(/^ami-/) as unknown } },
    });
    expect(done.storage_cost).toBeGreaterThan(0);
    expect(done.creation_cost).toBeGreaterThan(0);

    const byAmi = await call(t, 'GET', `/api/v1/ami/status/${done.ami_id as string}`);
    expect(byAmi.body.creation_id).toBe(id);

    const list = await call(t, 'GET', '/api/v1/ami/list?region=us-east-1&tag=team=bio');
    expect(list.status).toBe(200);
    expect(list.body.total_count).toBe(1);
    expect(list.body.next_cursor).toBeNull();
    expect((list.body.amis as unknown[])[0]).toMatchObject({
      ami_id: done.ami_id,
      name: 'rest-python-env',
      description: 'Custom Python ML environment',
      architecture: 'x86_64',
      created: expect.any(String) as unknown,
      visibility: 'private',
      public: false,
      region: 'us-east-1',
      state: 'available',
      template_name: 'custom-ml-env',
      tags: { team: 'bio', project: 'genomes' },
      creation_id: id,
    });
    const all = await call(t, 'GET', '/api/v1/ami/list?limit=1');
    expect(all.body.total_count).toBe(2); // the source AMI and its us-west-2 copy
    expect(all.body.next_cursor).toEqual(expect.any(String));
    const next = await call(t, 'GET', `/api/v1/ami/list?limit=1&cursor=${encodeURIComponent(all.body.next_cursor as string)}`);
    expect((next.body.amis as { ami_id: string }[])[0]!.ami_id).not.toBe((all.body.amis as { ami_id: string }[])[0]!.ami_id);
  });

  it('answers VALIDATION_FAILED (400) with each bad field under its REST name', async () => {
    const bad = await call(t, 'POST', '/api/v1/ami/create', {
      body: { instance_id: 'demo-workstation', name: 'x', tags: { 'aws:owner': 'me' }, multi_region: ['moon-1'] },
    });
    expectError(bad, 400, 'VALIDATION_FAILED');
    const fields = bad.body.error!.field_errors.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'tags.aws:owner']));
    expect(fields.some((f) => f.startsWith('multi_region'))).toBe(true);

    // Types are checked before any GraphQL runs: a string for a boolean, a missing required field.
    const wrongType = await call(t, 'POST', '/api/v1/ami/create', {
      body: { instance_id: 'demo-workstation', name: 'rest-ok-name', public: 'yes' },
    });
    expectError(wrongType, 400, 'VALIDATION_FAILED');
    expect(wrongType.body.error!.field_errors.map((f) => f.field)).toEqual(['public']);
    const missing = await call(t, 'POST', '/api/v1/ami/create', { body: { name: 'rest-ok-name' } });
    expectError(missing, 400, 'VALIDATION_FAILED');
    expect(missing.body.error!.field_errors.map((f) => f.field)).toEqual(['instance_id']);

    const unknown = await call(t, 'POST', '/api/v1/ami/create', {
      body: { instance_id: 'demo-workstation', name: 'rest-ok-name', colour: 'red' },
    });
    expectError(unknown, 400, 'VALIDATION_FAILED');
    expect(unknown.body.error!.field_errors.map((f) => f.field)).toEqual(['colour']);
    expectError(await call(t, 'POST', '/api/v1/ami/create', { raw: '{"instance_id": ' }), 400, 'VALIDATION_FAILED');
    expectError(await call(t, 'POST', '/api/v1/ami/create', { body: ['demo-workstation'] }), 400, 'VALIDATION_FAILED');
    const limit = await call(t, 'GET', '/api/v1/ami/list?limit=1000');
    expectError(limit, 400, 'VALIDATION_FAILED');
    const limitType = await call(t, 'GET', '/api/v1/ami/list?limit=ten');
    expectError(limitType, 400, 'VALIDATION_FAILED');
    expect(limitType.body.error!.field_errors.map((f) => f.field)).toEqual(['limit']);
    expectError(await call(t, 'GET', '/api/v1/ami/list?colour=red'), 400, 'VALIDATION_FAILED');
  });

  it('answers UNAUTHENTICATED (401) without a token or with an unknown one', async () => {
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { token: null, body: { instance_id: 'demo-workstation', name: 'rest-anon' } }),
      401,
      'UNAUTHENTICATED',
    );
    expectError(await call(t, 'GET', '/api/v1/ami/list', { token: 'pam_not-a-real-token' }), 401, 'UNAUTHENTICATED');
    expectError(await call(t, 'GET', '/api/v1/ami/status/anything', { token: null }), 401, 'UNAUTHENTICATED');
  });

  it('answers INSTANCE_NOT_FOUND, CREATION_NOT_FOUND and AMI_NOT_FOUND with 404', async () => {
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { body: { instance_id: 'no-such-instance', name: 'rest-nothing' } }),
      404,
      'INSTANCE_NOT_FOUND',
    );
    expectError(await call(t, 'GET', '/api/v1/ami/status/c-does-not-exist'), 404, 'CREATION_NOT_FOUND');
    expectError(await call(t, 'GET', '/api/v1/ami/status/ami-0123456789abcdef0'), 404, 'AMI_NOT_FOUND');
  });

  it('answers INSTANCE_AMBIGUOUS, AMI_NAME_TAKEN and INSTANCE_STATE_INVALID with 409', async () => {
    for (let i = 0; i < 2; i++) {
      await sim.send(
        new RunInstancesCommand({
          ImageId: 'ami-0a1b2c3d4e5f6a001',
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'rest-twin' }, ownerTag()] }],
        }),
      );
    }
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { body: { instance_id: 'rest-twin', name: 'rest-twin-ami' } }),
      409,
      'INSTANCE_AMBIGUOUS',
    );
    // Taken by the first test's AMI.
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { body: { instance_id: 'teaching-env', name: 'rest-python-env' } }),
      409,
      'AMI_NAME_TAKEN',
    );
    // A new instance is `pending` for a while: not imageable yet.
    const run = await sim.send(
      new RunInstancesCommand({
        ImageId: 'ami-0a1b2c3d4e5f6a001',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [ownerTag()] }],
      }),
    );
    const fresh = run.Instances![0]!.InstanceId!;
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { body: { instance_id: fresh, name: 'rest-too-early' } }),
      409,
      'INSTANCE_STATE_INVALID',
    );
  });

  it("answers FORBIDDEN with 403 for another user's instance, naming the owner tag to set", async () => {
    const run = await sim.send(
      new RunInstancesCommand({
        ImageId: 'ami-0a1b2c3d4e5f6a001',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [ownerTag('alice')] }],
      }),
    );
    const theirs = run.Instances![0]!.InstanceId!;
    const answer = await call(t, 'POST', '/api/v1/ami/create', { body: { instance_id: theirs, name: 'rest-not-mine' } });
    expectError(answer, 403, 'FORBIDDEN');
    expect(answer.body.error?.message).toMatch(/prism:owner=tester/);
  });

  it('answers 404 for an unknown endpoint, 405 for a wrong method, 413 for a large body and 415 for a non-JSON body', async () => {
    const nope = await fetch(new URL('/api/v1/ami/nope', t.url));
    expect(nope.status).toBe(404);
    expect(((await nope.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const wrong = await fetch(new URL('/api/v1/ami/create', t.url));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', { raw: JSON.stringify({ name: 'x'.repeat(1_100_000) }) }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expectError(
      await call(t, 'POST', '/api/v1/ami/create', {
        raw: 'instance_id=demo',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('REST API: account and EC2 failures', () => {
  it('answers PUBLIC_ACCESS_BLOCKED (403) and RATE_LIMITED (429, with Retry-After)', async () => {
    const t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_BLOCK_PUBLIC_ACCESS: 'true', MUTATIONS_PER_MINUTE: '1' });
    try {
      const body = { instance_id: 'demo-workstation', name: 'rest-public', public: true };
      expectError(await call(t, 'POST', '/api/v1/ami/create', { body }), 403, 'PUBLIC_ACCESS_BLOCKED');
      const limited = await call(t, 'POST', '/api/v1/ami/create', { body });
      expectError(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await t.stop();
    }
  });

  it('answers EC2_ERROR (502) with the EC2 code when the EC2 endpoint cannot be reached', async () => {
    const t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9' });
    try {
      const failed = await call(t, 'POST', '/api/v1/ami/create', {
        body: { instance_id: 'i-0123456789abcdef0', name: 'rest-unreachable' },
      });
      expectError(failed, 502, 'EC2_ERROR');
      expect(failed.body.error).toMatchObject({ ec2_code: 'ECONNREFUSED' });
    } finally {
      await t.stop();
    }
  });

  it('maps every error code of the schema (and of the GraphQL layer) to its documented HTTP status', () => {
    const expected: Record<RestErrorCode, number> = {
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
    expect(HTTP_STATUS).toEqual(expected);
    const schemaCodes = schema.getType('ErrorCode')!.toJSON();
    const enumValues = (schema.getType('ErrorCode') as unknown as { getValues(): { name: string }[] })
      .getValues()
      .map((v) => v.name);
    expect(schemaCodes).toBe('ErrorCode');
    for (const code of enumValues) expect(HTTP_STATUS, code).toHaveProperty(code);
    // Codes no REST endpoint can reach today still travel as top-level GraphQL errors unchanged.
    const ok = { status: 200, headers: new Headers() };
    for (const code of ['FORBIDDEN', 'CREATION_FINISHED', 'AMI_STATE_INVALID'] as const) {
      const err = fromGraphqlErrors([new GraphQLError('no', { extensions: { code } }).toJSON()], ok);
      expect([err.code, HTTP_STATUS[err.code]]).toEqual([code, expected[code]]);
    }
    // Anything unexpected (a masked error) is a 500 that keeps the message with its request id.
    const masked = fromGraphqlErrors(
      [{ message: 'Unexpected error. (request id r-1)', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      ok,
    );
    expect([masked.code, masked.message]).toEqual(['INTERNAL_ERROR', 'Unexpected error. (request id r-1)']);
  });
});

describe('OpenAPI document', () => {
  it('is served at /api/v1/openapi.json and describes exactly the routes the server has', async () => {
    const t = await startTestApp({ EC2_BACKEND: 'simulator' });
    try {
      const res = await call(t, 'GET', '/api/v1/openapi.json', { token: null });
      expect(res.status).toBe(200);
      const doc = res.body as unknown as typeof openApiDocument;
      expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.info.title).toEqual(expect.any(String));
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual(REST_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
      // Every documented route answers (anything but the adapter's own 404/405).
      for (const route of REST_ROUTES) {
        const path = route.path.replace('{ref}', 'c-unknown');
        const answer = await fetch(new URL(path, t.url), {
          method: route.method,
          headers: { 'content-type': 'application/json' },
          body: route.method === 'POST' ? '{}' : null,
        });
        const code =
          answer.status === 404 || answer.status === 405
            ? ((await answer.json()) as { error: { code: string } }).error.code
            : 'ok';
        expect([route.path, code]).not.toEqual([route.path, 'NOT_FOUND']);
        expect([route.path, code]).not.toEqual([route.path, 'METHOD_NOT_ALLOWED']);
      }
    } finally {
      await t.stop();
    }
  });

  it('gives every operation an id, a 2xx answer and resolvable references, with path parameters declared', () => {
    const ids = new Set<string>();
    const refs: string[] = [];
    JSON.stringify(openApiDocument, (key, value: unknown) => {
      if (key === '$ref' && typeof value === 'string') refs.push(value);
      return value;
    });
    for (const r of refs) expect(resolve(r), r).toBeDefined();
    for (const [path, ops] of Object.entries(openApiDocument.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        expect(
          Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)),
          `${method} ${path}`,
        ).toBe(true);
        for (const status of Object.keys(op.responses)) expect(status).toMatch(/^[1-5]\d\d$/);
        const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        for (const p of params)
          expect(
            op.parameters?.some((x) => x.in === 'path' && x.name === p && x.required),
            `${path} declares ${p}`,
          ).toBe(true);
      }
    }
  });

  it('documents every status the tests above received from each route', () => {
    expect(seen.size).toBeGreaterThan(10);
    for (const entry of seen) {
      const [method, path, status] = entry.split(' ') as [string, string, string];
      expect(openApiDocument.paths[path]?.[method.toLowerCase() as 'get' | 'post']?.responses[status], entry).toBeDefined();
    }
  });
});
