// Benchmark 5: footprint of the compiled server (`npm run build` → `node dist/src/main.js`): time from
// spawn to the first answered request, and idle RSS. Targets: < 1.5 s and < 150 MB.
//
// Each start is a fresh process; "cold" starts on an empty directory (database created and migrated,
// token written), "warm" on the database the cold start left. Time to first answer: polling every
// 5 ms for GET /health, and for POST /graphql `{ __typename }` with the token (warm starts, whose
// token is known before spawn). Idle RSS: /proc/PID/status VmRSS 5 s after the first answer.
// Both EC2 backends: the built-in simulator (the default without AWS credentials: it runs in the
// server's process) and `aws` pointed at an endpoint (the SDK is loaded lazily, on first use).
//
//   npx tsx bench/footprint.ts [--runs 5] [--build]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load, procRssBytes, ROOT, round, saveResult, sleep, summarize, table } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    build: { type: 'boolean', default: false },
    'idle-ms': { type: 'string', default: '5000' },
  },
});
const RUNS = Number(args.runs);
const IDLE_MS = Number(args['idle-ms']);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Run {
  healthMs: number;
  graphqlMs: number | null;
  idleRssMB: number;
}

async function once(backend: 'simulator' | 'aws', dir: string, token: string | null): Promise<Run> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    DATABASE_PATH: join(dir, 'prism.db'),
    LOG_LEVEL: 'warn',
    EC2_BACKEND: backend,
  };
  if (backend === 'aws') {
    env.AWS_ENDPOINT_URL_EC2 = 'http://127.0.0.1:1';
    env.AWS_ACCESS_KEY_ID = 'bench';
    env.AWS_SECRET_ACCESS_KEY = 'bench';
  }
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  let healthMs: number | undefined;
  let graphqlMs: number | null = null;
  try {
    while (healthMs === undefined || (token && graphqlMs === null)) {
      if (proc.exitCode !== null) throw new Error(`server exited: ${stderr}`);
      if (performance.now() - t0 > 30_000) throw new Error(`no answer after 30 s: ${stderr}`);
      if (healthMs === undefined) {
        const ok = await fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) healthMs = performance.now() - t0;
      }
      if (token && graphqlMs === null) {
        const ok = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: '{"query":"{ __typename }"}',
        }).then(
          async (r) => r.ok && ((await r.json()) as { data?: { __typename?: string } }).data?.__typename === 'Query',
          () => false,
        );
        if (ok) graphqlMs = performance.now() - t0;
      }
      await sleep(5);
    }
    await sleep(IDLE_MS);
    return { healthMs: healthMs, graphqlMs, idleRssMB: procRssBytes(proc.pid!) / 2 ** 20 };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  if (args.build || !existsSync(join(ROOT, 'dist', 'src', 'main.js'))) {
    console.error('building (npm run build)…');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const rows: {
    backend: string;
    start: string;
    healthMs: number;
    graphqlMs: number | null;
    idleRssMB: number;
    runs: number;
    load: string;
  }[] = [];
  for (const backend of ['simulator', 'aws'] as const) {
    const cold: Run[] = [];
    const warm: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'prism-footprint-'));
      try {
        cold.push(await once(backend, dir, null));
        const token = readFileSync(join(dir, 'prism.token'), 'utf8').trim();
        warm.push(await once(backend, dir, token));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    for (const [start, runs] of [
      ['cold', cold],
      ['warm', warm],
    ] as const) {
      const gq = runs.map((r) => r.graphqlMs).filter((x): x is number => x !== null);
      rows.push({
        backend,
        start,
        healthMs: round(summarize(runs.map((r) => r.healthMs)).p50, 0),
        graphqlMs: gq.length ? round(summarize(gq).p50, 0) : null,
        idleRssMB: round(summarize(runs.map((r) => r.idleRssMB)).p50, 1),
        runs: runs.length,
        load: load(),
      });
    }
    console.error(`done: ${backend} (load ${load()})`);
  }
  console.log(
    `\nFootprint of node dist/src/main.js (median of ${RUNS} starts each; idle RSS ${IDLE_MS / 1000} s after the first answer)\n`,
  );
  console.log(
    table(
      ['EC2 backend', 'start', 'spawn → /health ms', 'spawn → first GraphQL answer ms', 'idle RSS MB', 'target', 'load avg'],
      rows.map((r) => [r.backend, r.start, r.healthMs, r.graphqlMs ?? '-', r.idleRssMB, '< 1500 ms, < 150 MB', r.load]),
    ),
  );
  console.log(`\nresults: ${saveResult('footprint', { runs: RUNS, idleMs: IDLE_MS, rows })}`);
}

await main();
