// Shared plumbing for the benchmarks: child processes (simulator, server), a request-counting
// proxy, percentiles, machine facts and result files. Nothing here is imported by src/ or test/.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The SDK warns once per process that Node 20 support ends in 2027: noise in benchmark output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** The user the benchmarks act as (server-child's token, tracker-calls' viewer). */
export const BENCH_USER = 'bench';

/** RunInstances' TagSpecifications that give the launched instances to BENCH_USER (INSTANCE_ACCESS=owner). */
export const BENCH_INSTANCE_TAGS = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'prism:owner', Value: BENCH_USER }] }];

/** One user starts every creation of a benchmark: the per-user cap is not what is measured. */
export const BENCH_LIMITS = { MAX_ACTIVE_CREATIONS_PER_USER: '100000' };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function machine(): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: load(),
  };
}

/** The 1/5/15-minute load average, printed next to every result (the machine is shared). */
export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summarize(values: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
    mean,
  };
}

export const round = (n: number, digits = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);

export function saveResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2) + '\n');
  return file;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Spawn `tsx <script>` (or `node` with args) and wait until a stdout/stderr line matches `ready`. */
export async function spawnChild(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number; ipc?: boolean },
): Promise<Child & { match: RegExpMatchArray }> {
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const match = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')} not ready after ${options.timeoutMs ?? 30_000} ms:\n${out}`)),
      options.timeoutMs ?? 30_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = options.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    proc,
    match,
    output: () => out,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export interface SimulatorChild extends Child {
  url: string;
  stats(): Promise<SimStats>;
  resetStats(): Promise<void>;
  configure(patch: Record<string, unknown>): Promise<void>;
}

export interface SimStats {
  total: number;
  calls: Record<string, number>;
  byRegion: Record<string, Record<string, number>>;
  throttled: number;
  errors: Record<string, number>;
}

/** The standalone simulator (`simulator/main.ts`) in its own process. */
export async function startSimulatorChild(options: { speed: number; tokenBucket?: boolean }): Promise<SimulatorChild> {
  const args = ['simulator/main.ts', '--port', '0', '--speed', String(options.speed)];
  if (options.tokenBucket) args.push('--token-bucket');
  const child = await spawnChild(TSX, args, { ready: /listening on (http:\/\/\S+)/ });
  const url = child.match[1]!.replace(/\/$/, '');
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  return {
    ...child,
    url,
    stats: () => control('GET', '/_simulator/stats') as Promise<SimStats>,
    resetStats: async () => {
      await control('POST', '/_simulator/stats/reset');
    },
    configure: async (patch) => {
      await control('POST', '/_simulator/config', patch);
    },
  };
}

export function tsxArgs(): string {
  return TSX;
}

// ---------------------------------------------------------------------------------------------
// A counting reverse proxy: raw HTTP requests and responses by EC2 action and status, as the wire sees them.

export interface CountingProxy {
  url: string;
  counts(): { requests: number; byAction: Record<string, number>; byStatus: Record<string, number> };
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  let requests = 0;
  let byAction: Record<string, number> = {};
  let byStatus: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests++;
      const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('latin1'))?.[1] ?? 'other';
      byAction[action] = (byAction[action] ?? 0) + 1;
      const upstream = httpRequest(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          byStatus[String(up.statusCode)] = (byStatus[String(up.statusCode)] ?? 0) + 1;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ requests, byAction: { ...byAction }, byStatus: { ...byStatus } }),
    reset: () => {
      requests = 0;
      byAction = {};
      byStatus = {};
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Process facts from /proc (Linux): CPU time and RSS of another process.

const CLK_TCK = 100;

/** User + system CPU time of `pid` in ms (10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

export function procRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** POST a GraphQL document with a bearer token. */
export async function gql<T = unknown>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await res.json()) as { data?: T; errors?: unknown[] };
  if (json.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors)}`);
  return json.data!;
}

/** Run `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPC children: the prism-ami server (bench/support/server-child.ts) and the bare ws floor
// (bench/support/bare-ws-child.ts), each in its own process so CPU and memory are theirs alone.

export interface UsageReply {
  cpuUserMs: number;
  cpuSystemMs: number;
  rss: number;
  heapUsed: number;
  external: number;
}

export interface IpcChild {
  proc: ChildProcess;
  ready: Record<string, unknown>;
  request(cmd: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
  usage(gc?: boolean): Promise<UsageReply>;
  stop(): Promise<void>;
  output(): string;
}

export async function startIpcChild(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<IpcChild> {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...nodeArgs, script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const pending = new Map<number, (m: Record<string, unknown>) => void>();
  let nextId = 1;
  const ready = await new Promise<Record<string, unknown>>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after 60 s:\n${out}`)), 60_000);
    proc.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolveReady(m);
      } else if (m.type === 'reply') {
        pending.get(m.id as number)?.(m);
        pending.delete(m.id as number);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
  const request = (cmd: string, extra: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolveReply) => {
      const id = nextId++;
      pending.set(id, resolveReply);
      proc.send({ id, cmd, ...extra });
    });
  return {
    proc,
    ready,
    request,
    usage: async (gc = false) => (await request('usage', { gc })).usage as UsageReply,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await Promise.race([request('stop'), exited]);
      await exited;
      clearTimeout(kill);
    },
  };
}

export const cpuMs = (u: UsageReply) => u.cpuUserMs + u.cpuSystemMs;
