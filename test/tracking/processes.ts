// Real processes for the restart and throttling tests: the standalone EC2 simulator and the
// prism-ami server (`src/main.ts`) as children, each started with `node --import tsx` so a SIGKILL
// hits the process itself (npx/tsx wrappers would leave it running). Plus an HTTP GraphQL client.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { EC2Client } from '@aws-sdk/client-ec2';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A child process started by launch(): its output so far, and its exit code once it exits. */
export interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts `node --import tsx <args>` in the repository with `env` added to this process's, and
 * resolves once its output (stdout and stderr together) matches `ready`; rejects when it exits
 * first or is not ready within 20 s. Exported for test/support/replicas.ts.
 */
export function launch(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  what: string,
): Promise<Child & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, output: () => output, exited, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/** Sends `signal` (unless the child has exited already) and waits for the exit. */
export async function terminate(c: Child, signal: NodeJS.Signals): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill(signal);
  await c.exited;
}

export interface SimulatorProcess {
  url: string;
  ec2(region?: string): EC2Client;
  stats(): Promise<{ total: number; throttled: number; calls: Record<string, number>; errors: Record<string, number> }>;
  configure(patch: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(flags: string[] = []): Promise<SimulatorProcess> {
  const c = await launch(
    ['simulator/main.ts', '--port', '0', ...flags],
    {},
    /EC2 simulator listening on (http:\/\/[\d.]+:\d+)/,
    'the EC2 simulator',
  );
  const url = c.match[1]!;
  const clients: EC2Client[] = [];
  return {
    url,
    ec2(region = 'us-east-1') {
      const client = new EC2Client({
        region,
        endpoint: url,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 8,
      });
      clients.push(client);
      return client;
    },
    async stats() {
      return (await (await fetch(`${url}/_simulator/stats`)).json()) as Awaited<ReturnType<SimulatorProcess['stats']>>;
    },
    async configure(patch) {
      const res = await fetch(`${url}/_simulator/config`, { method: 'POST', body: JSON.stringify(patch) });
      if (!res.ok) throw new Error(`simulator config failed: ${await res.text()}`);
    },
    async stop() {
      for (const client of clients) client.destroy();
      await terminate(c, 'SIGTERM');
    },
  };
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** The local user's token the server wrote next to its database (when authentication is on). */
  token: string | undefined;
  gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  /** Every log line the server wrote, parsed (pino JSON). */
  logs(): { level: number; msg: string; [k: string]: unknown }[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startServerProcess(env: {
  simulatorUrl: string;
  databasePath: string;
  pollIntervalMs?: number;
}): Promise<ServerProcess> {
  const c = await launch(
    ['src/main.ts'],
    {
      EC2_BACKEND: 'aws',
      AWS_ENDPOINT_URL_EC2: env.simulatorUrl,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      DATABASE_PATH: env.databasePath,
      PORT: '0',
      POLL_INTERVAL_MS: String(env.pollIntervalMs ?? 200),
      LOG_LEVEL: 'info',
      MUTATIONS_PER_MINUTE: '0',
    },
    /"msg":"EC2 backend:/,
    'the prism-ami server',
  );
  const url = /"url":"(http:\/\/[^"]+)"/.exec(c.output())![1]!;
  const tokenPath = env.databasePath.replace(/(\.db|\.sqlite3?)?$/, '.token');
  const token = existsSync(tokenPath) ? readFileSync(tokenPath, 'utf8').trim() : undefined;
  return {
    url,
    pid: c.child.pid!,
    token,
    async gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query: print(doc), variables }),
      });
      const result = (await res.json()) as ExecutionResult<R>;
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    logs() {
      return c
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string });
    },
    kill: (signal = 'SIGKILL') => terminate(c, signal),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
