// Builds a real prism-ami app for a test: real SQLite (in memory), the real SDK over HTTP to moto
// or the simulator, and typed GraphQL helpers over yoga.fetch, SSE and WebSocket.
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { buildApp, type App, type AppOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_REGION, SEEDED_INSTANCES } from '../../simulator/index.js';
import { testBusEnv, testDatabaseEnv } from './postgres.js';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The user of `TestApp.token`. */
export const TEST_USER = 'tester';

/**
 * The tag that gives an instance to `user` under the default INSTANCE_OWNER_TAG, for RunInstances'
 * TagSpecifications: tests launch instances that the test token's user may capture.
 */
export function ownerTag(user = TEST_USER): { Key: string; Value: string } {
  return { Key: 'prism:owner', Value: user };
}

/**
 * The token of the most recent test app in this worker: the subscription helpers use it when no
 * token is given, so tests that are not about authentication need not thread it through.
 */
let defaultToken: string | undefined;

export interface TestApp {
  app: App;
  url: string;
  /** A token for user `tester`, sent by gql/gqlRaw and the subscription helpers. */
  token: string;
  /** Another user's token, for isolation tests; an admin token when told. */
  tokenFor(user: string, options?: { admin?: boolean }): Promise<string>;
  /**
   * Gives instances of the in-process simulator to `user` (sets the configured owner tag), so
   * that user may capture them under INSTANCE_ACCESS=owner. The seeded ones start as `tester`'s.
   */
  setOwner(instanceIds: string[], user: string): Promise<void>;
  gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, token?: string): Promise<R>;
  gqlRaw<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, token?: string): Promise<ExecutionResult<R>>;
  stop(): Promise<void>;
}

export async function startTestApp(
  env: Record<string, string>,
  overrides: AppOverrides = {},
  options: {
    listen?: boolean;
    /** Who owns the simulator's seeded instances: `tester` (the token's user) unless told; null keeps the seed's `local`. */
    seededOwner?: string | null;
  } = {},
): Promise<TestApp> {
  // A test that names its own DATABASE_PATH (a file it restarts on) keeps SQLite.
  const database = env.DATABASE_PATH ? { env: {}, drop: () => Promise.resolve() } : await testDatabaseEnv();
  const config = loadConfig({
    DATABASE_PATH: ':memory:',
    PORT: '0',
    POLL_INTERVAL_MS: '100',
    LOG_LEVEL: 'silent',
    ...database.env,
    ...testBusEnv(),
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await buildApp(config, logger, { credentials: TEST_CREDENTIALS, ...overrides });
  let url = 'http://localhost/graphql';
  if (options.listen ?? true) url = await app.start();
  const token = (await app.services.auth.createToken(TEST_USER)).token;
  defaultToken = token;
  const setOwner = (ids: string[], user: string) =>
    tagSimulatorInstances(app, config.region, ids, { Key: config.access.instanceOwnerTag, Value: user });
  const seededOwner = options.seededOwner === undefined ? TEST_USER : options.seededOwner;
  if (app.simulator && seededOwner && config.region === DEFAULT_REGION) {
    await setOwner(Object.values(SEEDED_INSTANCES), seededOwner);
    // Tests that count the simulator's calls start from zero.
    await fetch(`${app.simulator.url}/_simulator/stats/reset`, { method: 'POST' });
  }

  async function gqlRaw<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, as = token): Promise<ExecutionResult<R>> {
    const res = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify({ query: print(doc), variables }),
    });
    return (await res.json()) as ExecutionResult<R>;
  }

  return {
    app,
    url,
    token,
    tokenFor: async (user, tokenOptions) => (await app.services.auth.createToken(user, tokenOptions)).token,
    setOwner,
    gqlRaw,
    async gql(doc, variables, as) {
      const result = await gqlRaw(doc, variables, as);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    stop: async () => {
      await app.stop();
      await database.drop();
    },
  };
}

/** Straight to the simulator, not through the app, so that the app's metrics stay the test's own. */
async function tagSimulatorInstances(app: App, region: string, ids: string[], tag: { Key: string; Value: string }) {
  if (!app.simulator) throw new Error('setOwner needs the in-process simulator (EC2_BACKEND=simulator)');
  const ec2 = new EC2Client({ region, endpoint: app.simulator.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  try {
    await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [tag] }));
  } finally {
    ec2.destroy();
  }
}

/** Every value a subscription yields until it completes, over graphql-ws on a real socket. */
export async function collectOverWebSocket<R, V>(
  url: string,
  doc: TypedDocumentNode<R, V>,
  variables: V,
  options: { timeoutMs?: number; connectionParams?: Record<string, unknown>; token?: string } = {},
): Promise<R[]> {
  const token = options.token ?? defaultToken;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: options.connectionParams ?? (token ? { authorization: `Bearer ${token}` } : {}),
  });
  const values: R[] = [];
  try {
    await withTimeout(
      (async () => {
        try {
          for await (const result of client.iterate({ query: print(doc), variables: variables as Record<string, unknown> })) {
            if (result.errors?.length) throw new Error(`subscription errors: ${JSON.stringify(result.errors)}`);
            values.push(result.data as R);
          }
        } catch (err) {
          // graphql-ws rejects with an array of GraphQL errors or a CloseEvent, not an Error.
          if (err instanceof Error) throw err;
          throw new Error(`subscription failed: ${JSON.stringify(err, ['message', 'code', 'reason', 'extensions'])}`);
        }
      })(),
      options.timeoutMs ?? 20_000,
      `WebSocket subscription (${values.length} values so far)`,
    );
  } finally {
    await client.dispose();
  }
  return values;
}

/** The events of a Server-Sent Events response as they arrive: each block's event name and its data lines joined. */
export async function* sseEvents(res: Response): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let idx;
    while ((idx = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      yield { event, data };
    }
  }
}

/** Every value a subscription yields until it completes, over Server-Sent Events. */
export async function collectOverSse<R, V>(
  url: string,
  doc: TypedDocumentNode<R, V>,
  variables: V,
  options: { timeoutMs?: number; headers?: Record<string, string>; token?: string } = {},
): Promise<R[]> {
  const token = options.token ?? defaultToken;
  const controller = new AbortController();
  const values: R[] = [];
  const run = async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query: print(doc), variables }),
      signal: controller.signal,
    });
    if (!res.ok || !res.body) throw new Error(`SSE request failed: HTTP ${res.status} ${await res.text()}`);
    for await (const { event, data } of sseEvents(res)) {
      if (event === 'complete') return;
      if (!data) continue;
      const result = JSON.parse(data) as ExecutionResult<R>;
      if (result.errors?.length) throw new Error(`subscription errors: ${JSON.stringify(result.errors)}`);
      values.push(result.data!);
    }
  };
  try {
    await withTimeout(run(), options.timeoutMs ?? 20_000, `SSE subscription (${values.length} values so far)`);
  } finally {
    controller.abort();
  }
  return values;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll until `check` returns a value (not undefined), or fail after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 15_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** EC2 tags as a plain record, for assertions. */
export function tagMap(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
