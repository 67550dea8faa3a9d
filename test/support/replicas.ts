// N prism-ami replicas as real child processes (src/main.ts) on one PostgreSQL database and one
// Redis key prefix, in front of one shared EC2 simulator process (DESIGN §9), for the scale tests
// and the benchmarks. The API:
//
//   const sim = await startSimulatorProcess(['--speed', '8']);          // test/tracking/processes.ts
//   const replicas = await startReplicas(3, { simulatorUrl: sim.url, databaseUrl, redisUrl, keyPrefix });
//   const token = await createToken(databaseUrl, 'alice', { admin: true });
//   await replicas[0].gql(CreateAmiDocument, { input }, token);
//   const sub = replicas[1].subscribe(AmiProgressDocument, { id }, token);
//   await replicas[2].kill('SIGKILL');
//
// With DATABASE_URL the server writes no local token file: tokens come from createToken (the
// auth service on the store, what `prism-ami token create` runs).
import { print, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import WebSocket from 'ws';
import { openStore } from '../../src/db/store.js';
import { createAuthService } from '../../src/services/auth.js';
import { launch, terminate, type Child } from '../tracking/processes.js';

export interface ReplicaOptions {
  /** The shared EC2 endpoint (startSimulatorProcess().url). */
  simulatorUrl: string;
  /** postgres://… of the database every replica shares (createTestDatabase().url). */
  databaseUrl: string;
  /** redis://… every replica shares. */
  redisUrl: string;
  /** REDIS_KEY_PREFIX: unique per test file, so files never see each other's events or counters. */
  keyPrefix: string;
  /** POLL_INTERVAL_MS (default 200). */
  pollIntervalMs?: number;
  /** More environment for every replica (overrides the defaults above, e.g. LOG_LEVEL). */
  env?: Record<string, string>;
}

/** One log line of a replica (pino JSON). */
export type LogLine = { level: number; msg: string; [k: string]: unknown };

/** A live subscription over graphql-ws: what it received so far, and how it ended. */
export interface Subscription<R> {
  /** Every result's data, in order of arrival. */
  events: R[];
  /** Resolves when the server completes the subscription, errors it, or closes the socket. */
  ended: Promise<{ error?: unknown }>;
  /** The first event (already received or to come) that `check` accepts; rejects after `ms` (default 20 s) or when the subscription ends first. */
  until(check: (event: R) => boolean, ms?: number): Promise<R>;
  dispose(): Promise<void>;
}

export interface Replica {
  /** INSTANCE_ID: replica-0, replica-1, … */
  id: string;
  /** http://127.0.0.1:<port>/graphql as the server logged it. */
  url: string;
  pid: number;
  /** One operation over HTTP; returns data, throws on GraphQL errors (message included). */
  gql<R, V>(doc: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R>;
  /** A subscription over graphql-ws (no retries: a closed socket ends it). */
  subscribe<R, V>(doc: TypedDocumentNode<R, V>, variables: V, token: string): Subscription<R>;
  /** GET /ready: the status code and the JSON report. */
  ready(): Promise<{ status: number; body: ReadyBody }>;
  /** Every log line so far, parsed. */
  logs(): LogLine[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The part of /ready's JSON the tests look at (src/http/readiness.ts). */
export interface ReadyBody {
  status: 'ready' | 'not_ready';
  reason?: string;
  checks: Record<'database' | 'eventBus' | 'tracker' | 'ec2', { ok: boolean; detail?: string; [fact: string]: unknown }>;
}

/** The environment replica `i` runs with (exported for tests that start main.ts themselves). */
export function replicaEnv(i: number, options: ReplicaOptions): Record<string, string> {
  return {
    EC2_BACKEND: 'aws',
    AWS_ENDPOINT_URL_EC2: options.simulatorUrl,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.keyPrefix,
    INSTANCE_ID: `replica-${i}`,
    PORT: '0',
    POLL_INTERVAL_MS: String(options.pollIntervalMs ?? 200),
    LOG_LEVEL: 'info',
    MUTATIONS_PER_MINUTE: '0',
    ...options.env,
  };
}

/** Starts `n` replicas at once (they migrate once, under an advisory lock) and resolves when all listen. */
export async function startReplicas(n: number, options: ReplicaOptions): Promise<Replica[]> {
  const started = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      launch(['src/main.ts'], replicaEnv(i, options), /"msg":"EC2 backend:/, `prism-ami replica-${i}`),
    ),
  );
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [terminate(s.value, 'SIGKILL')] : [])));
    throw failed.reason;
  }
  return started.map((s, i) => replica(`replica-${i}`, (s as PromiseFulfilledResult<Child>).value));
}

function replica(id: string, c: Child): Replica {
  const url = /"url":"(http:\/\/[^"]+)"/.exec(c.output())![1]!;
  return {
    id,
    url,
    pid: c.child.pid!,
    async gql<R, V>(doc: TypedDocumentNode<R, V>, variables: V, token: string): Promise<R> {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: print(doc), variables }),
        signal: AbortSignal.timeout(30_000),
      });
      const result = (await res.json()) as ExecutionResult<R>;
      if (result.errors?.length) throw new Error(`GraphQL errors from ${id}: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    subscribe: (doc, variables, token) => subscribeOverWs(url, doc, variables, token),
    async ready() {
      const res = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(15_000) });
      return { status: res.status, body: (await res.json()) as ReadyBody };
    },
    logs: () =>
      c
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine),
    alive: () => c.child.exitCode === null && c.child.signalCode === null,
    kill: (signal = 'SIGKILL') => terminate(c, signal),
  };
}

function subscribeOverWs<R, V>(url: string, doc: TypedDocumentNode<R, V>, variables: V, token: string): Subscription<R> {
  const client: Client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const events: R[] = [];
  const waiters = new Set<() => void>();
  let end: { error?: unknown } | undefined;
  const ended = new Promise<{ error?: unknown }>((resolve) => {
    const finish = (outcome: { error?: unknown }) => {
      end ??= outcome;
      resolve(end);
      for (const w of waiters) w();
    };
    client.subscribe<R>(
      { query: print(doc), variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          if (result.errors?.length) {
            finish({ error: result.errors });
            return;
          }
          events.push(result.data as R);
          for (const w of waiters) w();
        },
        error: (error) => finish({ error }),
        complete: () => finish({}),
      },
    );
  });
  return {
    events,
    ended,
    until(check, ms = 20_000) {
      return new Promise<R>((resolve, reject) => {
        let seen = 0;
        const look = () => {
          for (; seen < events.length; seen++) {
            if (check(events[seen]!)) {
              done();
              resolve(events[seen]!);
              return;
            }
          }
          if (end) {
            done();
            reject(new Error(`the subscription ended (${describeEnd(end)}) before the awaited event`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no awaited event within ${ms} ms; last: ${JSON.stringify(events.at(-1))}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(look);
        };
        waiters.add(look);
        look();
      });
    },
    dispose: () => Promise.resolve(client.dispose()),
  };
}

function describeEnd(end: { error?: unknown }): string {
  if (end.error === undefined) return 'completed';
  const e = end.error as { code?: number; reason?: string; message?: string };
  if (typeof e.code === 'number') return `socket closed ${e.code} ${e.reason ?? ''}`;
  return e.message ?? JSON.stringify(end.error);
}

/**
 * A token for `user` on the database at `databaseUrl`, made by the auth service on the store (what
 * `prism-ami token create` does). Opening the store applies the migrations if none ran yet.
 */
export async function createToken(databaseUrl: string, user: string, options: { admin?: boolean } = {}): Promise<string> {
  const store = await openStore({ databaseUrl, databasePath: ':memory:' });
  try {
    return (await createAuthService({ db: store, now: Date.now }).createToken(user, options)).token;
  } finally {
    await store.close();
  }
}
