// Benchmark 6: a flood from one token. One token opens CONNECTIONS graphql-ws connections and sends
// SUBSCRIPTIONS subscriptions on each (to one creation in progress), against the server in its own
// process (bench/support/server-child.ts), side by side in one run:
//   - caps: MAX_CONNECTIONS_PER_USER, MAX_SUBSCRIPTIONS_PER_USER and MAX_CONNECTIONS at their defaults;
//   - lifted: the caps set very large (what the server did before it had caps).
// Measured per scenario: connections and subscriptions accepted, the server's RSS growth (peak while
// flooded, and after a forced GC with the flood still connected), and /health latency (p50/p99/max)
// while the flood is sent and answered. Bounded: at most CONNECTIONS × SUBSCRIPTIONS messages, and
// --timeout seconds per scenario; loopback only.
//
//   npx tsx bench/flood.ts [--connections 100] [--subscriptions 1000] [--timeout 60] [--scenarios caps,lifted]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { gql, load, round, saveResult, sleep, startIpcChild, summarize, table, type IpcChild } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '100' },
    subscriptions: { type: 'string', default: '1000' },
    timeout: { type: 'string', default: '60' },
    scenarios: { type: 'string', default: 'caps,lifted' },
  },
});
const CONNECTIONS = Number(args.connections);
const SUBSCRIPTIONS = Number(args.subscriptions);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const CREATE = `mutation($input: CreateAmiInput!) { createAmi(input: $input) { __typename ... on CreateAmiSuccess { creation { id } } ... on Error { message } } }`;
const PROGRESS = `subscription($id: ID!) { amiProgress(id: $id) { id status stage progress message elapsedSeconds estimatedSecondsRemaining updatedAt } }`;

const SCENARIOS: Record<string, Record<string, string>> = {
  caps: {},
  lifted: { MAX_CONNECTIONS_PER_USER: '100000', MAX_SUBSCRIPTIONS_PER_USER: '1000000', MAX_CONNECTIONS: '1000000' },
};

interface Result {
  scenario: string;
  connectionsAccepted: number;
  subscriptionsAccepted: number;
  subscriptionsRefused: number;
  unanswered: number;
  floodSeconds: number;
  rssBeforeMiB: number;
  rssPeakGrowthMiB: number;
  rssGrowthAfterGcMiB: number;
  health: { n: number; p50: number; p99: number; max: number };
  load: string;
}

/** Tallies of one flood: which subscriptions got a first `next`, which an `error`. */
interface Tally {
  sent: number;
  accepted: number;
  refused: number;
}

/** Opens one graphql-ws connection; resolves with the socket once acknowledged, or undefined once refused. */
function connect(url: string, token: string, tally: Tally): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const answered = new Set<string>();
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; id?: string };
      if (m.type === 'connection_ack') resolve(socket);
      else if (m.id !== undefined && !answered.has(m.id) && (m.type === 'next' || m.type === 'error')) {
        answered.add(m.id);
        if (m.type === 'next') tally.accepted++;
        else tally.refused++;
      }
    });
    socket.on('close', () => resolve(undefined));
    socket.on('error', () => resolve(undefined));
  });
}

/** Sends SUBSCRIPTIONS subscriptions on every socket, in batches so the sender keeps its own loop turning. */
async function send(sockets: WebSocket[], creationId: string, tally: Tally): Promise<void> {
  for (let i = 0; i < SUBSCRIPTIONS; i += 50) {
    for (const socket of sockets) {
      for (let j = i; j < Math.min(i + 50, SUBSCRIPTIONS); j++) {
        socket.send(
          JSON.stringify({ id: `s${j}`, type: 'subscribe', payload: { query: PROGRESS, variables: { id: creationId } } }),
        );
        tally.sent++;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
}

// The /health prober runs in a process of its own, so that the flood client's own work (sending,
// parsing answers) is not counted as the server's latency.
const PROBE = `
const url = process.argv[1];
const durations = [];
let running = true;
process.stdin.on('end', () => { running = false; });
process.stdin.resume();
(async () => {
  while (running) {
    const started = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      await res.arrayBuffer();
      durations.push(performance.now() - started);
      if (durations.length === 1) process.stderr.write('probing\\n');
    } catch {
      durations.push(10000);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify(durations));
})();
`;

/** /health round trips every 20 ms until stopped (a timeout counts as 10 s); resolves once probing. */
async function probe(url: string): Promise<{ stop(): Promise<number[]> }> {
  const child = spawn(process.execPath, ['-e', PROBE, new URL('/health', url).href], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The first answer comes before the flood starts, so every later one is measured during it.
  await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
  // Not counted: the probe before the flood.
  const skipFirst = (d: number[]) => d.slice(1);
  return {
    stop: async () => {
      child.stdin.end();
      await exited;
      return skipFirst(JSON.parse(out || '[]') as number[]);
    },
  };
}

/** Samples the server's RSS every 100 ms; the peak. */
function sampleRss(server: IpcChild): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await server.usage()).rss);
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function flood(server: IpcChild, url: string, token: string, creationId: string) {
  const tally: Tally = { sent: 0, accepted: 0, refused: 0 };
  const started = performance.now();
  const sockets = (await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(url, token, tally)))).filter(
    (s): s is WebSocket => s !== undefined,
  );
  await send(sockets, creationId, tally);
  const deadline = started + TIMEOUT_MS;
  while (tally.accepted + tally.refused < tally.sent && performance.now() < deadline) await sleep(50);
  const floodSeconds = (performance.now() - started) / 1000;
  const afterGc = (await server.usage(true)).rss;
  return { sockets, tally, floodSeconds, afterGc };
}

async function runScenario(scenario: string): Promise<Result> {
  const server = await startIpcChild('bench/support/server-child.ts', {
    DATABASE_PATH: ':memory:',
    PORT: '0',
    HOST: '127.0.0.1',
    EC2_BACKEND: 'simulator',
    SIMULATOR_SPEED_GIB_PER_SECOND: '0.0001',
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    METRICS: 'off',
    // The seeded instance is the local user's; ownership is not what this measures.
    INSTANCE_ACCESS: 'any',
    ...SCENARIOS[scenario],
  });
  try {
    const url = String(server.ready.url);
    const token = String(server.ready.token);
    const created = await gql<{ createAmi: { creation?: { id: string }; message?: string } }>(url, token, CREATE, {
      input: { instance: 'demo-workstation', name: `flood-${scenario}` },
    });
    if (!created.createAmi.creation) throw new Error(`createAmi: ${created.createAmi.message}`);
    const before = (await server.usage(true)).rss;
    const health = await probe(url);
    const rss = sampleRss(server);
    const { sockets, tally, floodSeconds, afterGc } = await flood(server, url, token, created.createAmi.creation.id);
    const durations = await health.stop();
    const peak = await rss.stop();
    for (const s of sockets) s.terminate();
    const h = summarize(durations);
    return {
      scenario,
      connectionsAccepted: sockets.length,
      subscriptionsAccepted: tally.accepted,
      subscriptionsRefused: tally.refused,
      unanswered: tally.sent - tally.accepted - tally.refused,
      floodSeconds: round(floodSeconds, 2),
      rssBeforeMiB: round(before / 2 ** 20),
      rssPeakGrowthMiB: round((Math.max(peak, afterGc) - before) / 2 ** 20),
      rssGrowthAfterGcMiB: round((afterGc - before) / 2 ** 20),
      health: { n: h.n, p50: round(h.p50), p99: round(h.p99), max: round(h.max) },
      load: load(),
    };
  } finally {
    await server.stop();
  }
}

const results: Result[] = [];
for (const scenario of args.scenarios.split(',').filter((s) => s in SCENARIOS)) {
  console.error(`flood: ${scenario} (${CONNECTIONS} connections × ${SUBSCRIPTIONS} subscriptions, one token)…`);
  results.push(await runScenario(scenario));
}
console.log(
  table(
    [
      'scenario',
      'connections accepted',
      'subscriptions accepted',
      'refused',
      'unanswered',
      'flood s',
      'RSS growth peak / after GC (MiB)',
      '/health p50 / p99 / max (ms)',
      'load',
    ],
    results.map((r) => [
      r.scenario,
      `${r.connectionsAccepted} / ${CONNECTIONS}`,
      `${r.subscriptionsAccepted} / ${CONNECTIONS * SUBSCRIPTIONS}`,
      r.subscriptionsRefused,
      r.unanswered,
      r.floodSeconds,
      `${r.rssPeakGrowthMiB} / ${r.rssGrowthAfterGcMiB}`,
      `${r.health.p50} / ${r.health.p99} / ${r.health.max}`,
      r.load,
    ]),
  ),
);
console.error(`saved ${saveResult('flood', { connections: CONNECTIONS, subscriptions: SUBSCRIPTIONS, results })}`);
