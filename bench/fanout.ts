// Benchmark 3: subscription fan-out. N graphql-ws (or SSE) subscribers follow one creation, or many
// creations; the tracker publishes about one change per creation per poll (progress, then the ETA,
// change every tick). Measured per scenario, with the server in its own process
// (bench/support/server-child.ts, IPC for its own process.cpuUsage() and memoryUsage()):
//   - delivery latency per message: receipt time − the event's updatedAt (stamped by the tracker
//     just before its SQLite write and publish), p50/p99;
//   - server CPU per delivered message: server CPU time over the window ÷ messages received;
//   - memory per idle subscriber: (RSS and heap after GC with N subscribers − before) ÷ N.
// The floor: a bare `ws` server (bench/support/bare-ws-child.ts) broadcasting the same frame to the
// same number of sockets at the same rate.
//
// Subscribers of one creation with the same document form one cohort (src/http/cohorts.ts): one
// execution per event, serialized once.
//
//   npx tsx bench/fanout.ts [--scenarios ws-1000-1,bare-1000,ws-10000-1,bare-10000,sse-1000-1] [--seconds 15]
//     [--cpu-prof] [--heap-snapshot]   (a CPU profile of the window; heap snapshots before and after connecting)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { BASE_IMAGES } from '../simulator/index.js';
import {
  BENCH_INSTANCE_TAGS,
  BENCH_LIMITS,
  cpuMs,
  gql,
  load,
  pool,
  RESULTS_DIR,
  round,
  saveResult,
  sleep,
  startIpcChild,
  startSimulatorChild,
  summarize,
  table,
  type IpcChild,
  type SimulatorChild,
} from './support/common.js';
import { sseSubscriber, wsSubscriber, type Received, type Subscriber } from './support/subscribers.js';

const { values: args } = parseArgs({
  options: {
    scenarios: {
      type: 'string',
      default: 'ws-1000-1,bare-1000,ws-5000-1,bare-5000,ws-10000-1,bare-10000,sse-1000-1,sse-5000-1,ws-1000-100',
    },
    seconds: { type: 'string', default: '15' },
    'interval-ms': { type: 'string', default: '1000' },
    /** Write a V8 CPU profile of the server process, measured window only, to bench/results/profiles/. */
    'cpu-prof': { type: 'boolean', default: false },
    /** Write V8 heap snapshots of the server before and after connecting the subscribers (bench/results/profiles/). */
    'heap-snapshot': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const INTERVAL_MS = Number(args['interval-ms']);
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const CREATE = `mutation($input: CreateAmiInput!) { createAmi(input: $input) { __typename ... on CreateAmiSuccess { creation { id } } ... on Error { message } } }`;
// What a progress bar asks for (README), plus updatedAt for the latency.
const PROGRESS = `subscription($id: ID!) { amiProgress(id: $id) { id status stage progress message elapsedSeconds estimatedSecondsRemaining updatedAt } }`;

interface Result {
  scenario: string;
  transport: string;
  subscribers: number;
  creations: number;
  messages: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  cpuUsPerMessage: number;
  /** Minus the CPU the server spends with no subscriber (the tracker's ticks). */
  marginalCpuUsPerMessage: number;
  serverCpuPercent: number;
  rssPerSubscriberKB: number;
  heapPerSubscriberKB: number;
  connectSeconds: number;
  load: string;
}

async function connectAll(n: number, make: (i: number) => Subscriber): Promise<{ subs: Subscriber[]; seconds: number }> {
  const t0 = performance.now();
  const subs: Subscriber[] = [];
  await pool(
    Array.from({ length: n }, (_, i) => i),
    100,
    async (i) => {
      const s = make(i);
      subs.push(s);
      await s.ready;
    },
  );
  return { subs, seconds: (performance.now() - t0) / 1000 };
}

function measure(received: Received[], from: number, to: number) {
  const inWindow = received.filter((r) => r.at >= from && r.at < to);
  const latencies = inWindow.flatMap((r) => {
    const p = r.data.amiProgress as { updatedAt: string };
    const stamped = Date.parse(p.updatedAt);
    return stamped >= from ? [r.at - stamped] : [];
  });
  return { count: inWindow.length, latency: summarize(latencies) };
}

async function prismScenario(
  sim: SimulatorChild,
  transport: 'ws' | 'sse',
  subscribers: number,
  creations: number,
): Promise<Result> {
  await fetch(`${sim.url}/_simulator/reset`, { method: 'POST' });
  const server = await startIpcChild('bench/support/server-child.ts', serverEnv(sim.url));
  const url = server.ready.url as string;
  const token = server.ready.token as string;
  let subs: Subscriber[] = [];
  try {
    const ids = await startCreations(sim, url, token, creations);
    await sleep(1000);
    const trackerCpuPerMs = await idleCpuPerMs(server);
    const snapshot = (when: string) => heapSnapshot(server, `fanout-${transport}-${subscribers}-${creations}-${when}`);
    await snapshot('before');
    const before = await server.usage(true);
    const received: Received[] = [];
    const onNext = (r: Received) => received.push(r);
    const connected = await connectAll(subscribers, (i) => {
      const payload = { query: PROGRESS, variables: { id: ids[i % ids.length] } };
      return transport === 'ws' ? wsSubscriber(url, token, payload, onNext) : sseSubscriber(url, token, payload, onNext);
    });
    subs = connected.subs;
    await sleep(2000);
    const idle = await server.usage(true);
    await snapshot('after');
    const { from, to, cpu } = await measureWindow(server, `fanout-${transport}-${subscribers}-${creations}`);
    const m = measure(received, from, to);
    return {
      scenario: `${transport}-${subscribers}-${creations}`,
      transport: transport === 'ws' ? 'graphql-ws' : 'SSE',
      subscribers,
      creations,
      messages: m.count,
      messagesPerSecond: round(m.count / ((to - from) / 1000)),
      latencyMs: { p50: round(m.latency.p50), p90: round(m.latency.p90), p99: round(m.latency.p99), max: round(m.latency.max) },
      cpuUsPerMessage: round((cpu * 1000) / m.count),
      marginalCpuUsPerMessage: round(((cpu - trackerCpuPerMs * (to - from)) * 1000) / m.count),
      serverCpuPercent: round((cpu / (to - from)) * 100),
      rssPerSubscriberKB: round((idle.rss - before.rss) / subscribers / 1024),
      heapPerSubscriberKB: round((idle.heapUsed - before.heapUsed) / subscribers / 1024),
      connectSeconds: round(connected.seconds, 2),
      load: load(),
    };
  } finally {
    for (const s of subs) s.close();
    await server.stop();
  }
}

function serverEnv(simulatorUrl: string): Record<string, string> {
  return {
    DATABASE_PATH: ':memory:',
    PORT: '0',
    EC2_BACKEND: 'aws',
    AWS_ENDPOINT_URL_EC2: simulatorUrl,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    POLL_INTERVAL_MS: String(INTERVAL_MS),
    LOG_LEVEL: 'warn',
    MUTATIONS_PER_MINUTE: '0',
    METRICS: 'off',
    ...BENCH_LIMITS,
    // One user opens every subscriber's connection: the caps would refuse all but the first 20.
    MAX_CONNECTIONS_PER_USER: '100000',
    MAX_SUBSCRIPTIONS_PER_USER: '1000000',
    MAX_CONNECTIONS: '1000000',
  };
}

/** `count` creations through the server's API, on instances launched straight in the simulator. */
async function startCreations(sim: SimulatorChild, url: string, token: string, count: number): Promise<string[]> {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: sim.url, credentials: CREDENTIALS });
  const instances: string[] = [];
  while (instances.length < count) {
    const batch = Math.min(20, count - instances.length);
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: batch,
        MaxCount: batch,
        TagSpecifications: BENCH_INSTANCE_TAGS,
      }),
    );
    instances.push(...(run.Instances ?? []).map((i) => i.InstanceId!));
  }
  ec2.destroy();
  await sleep(2_100);
  return pool(instances, 4, async (instance, k) => {
    const res = await gql<{ createAmi: { creation?: { id: string }; message?: string } }>(url, token, CREATE, {
      input: { instance, name: `fanout-${k}` },
    });
    if (!res.createAmi.creation) throw new Error(`createAmi: ${res.createAmi.message}`);
    return res.createAmi.creation.id;
  });
}

async function heapSnapshot(server: IpcChild, name: string): Promise<void> {
  if (!args['heap-snapshot']) return;
  mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
  const file = join(RESULTS_DIR, 'profiles', `${name}.heapsnapshot`);
  await server.request('heap-snapshot', { file });
  console.error(`heap snapshot: ${file}`);
}

/**
 * The server's CPU with the same creations ticking but no subscriber: the tracker's own share
 * (Describe calls through the SDK, SQLite writes), subtracted for the marginal cost per message.
 */
async function idleCpuPerMs(server: IpcChild): Promise<number> {
  const quietMs = Math.min(SECONDS, 8) * 1000;
  const q0 = await server.usage(false);
  await sleep(quietMs);
  const q1 = await server.usage(false);
  return (cpuMs(q1) - cpuMs(q0)) / quietMs;
}

/** The measured window: its wall-clock bounds and the server's CPU time in it (profiled with --cpu-prof). */
async function measureWindow(server: IpcChild, profileName: string): Promise<{ from: number; to: number; cpu: number }> {
  const from = Date.now();
  if (args['cpu-prof']) await server.request('profile-start');
  const cpu0 = await server.usage(false);
  await sleep(SECONDS * 1000);
  const cpu1 = await server.usage(false);
  if (args['cpu-prof']) {
    mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
    const file = join(RESULTS_DIR, 'profiles', `${profileName}.cpuprofile`);
    await server.request('profile-stop', { file });
    console.error(`profile: ${file}`);
  }
  const to = Date.now();
  return { from, to, cpu: cpuMs(cpu1) - cpuMs(cpu0) };
}

async function bareScenario(subscribers: number, events: number): Promise<Result> {
  const bare: IpcChild = await startIpcChild('bench/support/bare-ws-child.ts', {});
  const url = bare.ready.url as string;
  let subs: Subscriber[] = [];
  try {
    const before = await bare.usage(true);
    const received: Received[] = [];
    const connected = await connectAll(subscribers, () => wsSubscriber(url, 'none', null, (r) => received.push(r)));
    subs = connected.subs;
    await sleep(2000);
    const idle = await bare.usage(true);
    // The payload a prism-ami subscriber receives (fields as in PROGRESS).
    const data = {
      id: '5a0f6a1e-1f0e-4c55-9a8e-1b2d3c4e5f60',
      status: 'IN_PROGRESS',
      stage: 'SNAPSHOTTING',
      progress: 42,
      message: 'Creating snapshot - 42% complete',
      elapsedSeconds: 123,
      estimatedSecondsRemaining: 170,
    };
    const from = Date.now();
    const cpu0 = await bare.usage(false);
    const start = performance.now();
    for (let i = 0; i < events; i++) {
      await bare.request('broadcast', { data });
      await sleep(Math.max(0, start + ((i + 1) * (SECONDS * 1000)) / events - performance.now()));
    }
    const cpu1 = await bare.usage(false);
    const to = Date.now();
    const m = measure(received, from, to);
    const cpu = cpuMs(cpu1) - cpuMs(cpu0);
    return {
      scenario: `bare-${subscribers}`,
      transport: 'bare ws',
      subscribers,
      creations: 1,
      messages: m.count,
      messagesPerSecond: round(m.count / ((to - from) / 1000)),
      latencyMs: { p50: round(m.latency.p50), p90: round(m.latency.p90), p99: round(m.latency.p99), max: round(m.latency.max) },
      cpuUsPerMessage: round((cpu * 1000) / m.count),
      marginalCpuUsPerMessage: round((cpu * 1000) / m.count),
      serverCpuPercent: round((cpu / (to - from)) * 100),
      rssPerSubscriberKB: round((idle.rss - before.rss) / subscribers / 1024),
      heapPerSubscriberKB: round((idle.heapUsed - before.heapUsed) / subscribers / 1024),
      connectSeconds: round(connected.seconds, 2),
      load: load(),
    };
  } finally {
    for (const s of subs) s.close();
    await bare.stop();
  }
}

async function main(): Promise<void> {
  // 0.02 GiB/s: the 8 GiB image takes 400 s, longer than any scenario, so every tick changes
  // (progress or the ETA) and the creation never completes mid-measurement.
  const sim = await startSimulatorChild({ speed: 0.02 });
  const results: Result[] = [];
  try {
    for (const s of args.scenarios.split(',').filter(Boolean)) {
      const [kind, n, c] = s.split('-');
      const subscribers = Number(n);
      if (kind === 'bare') {
        // As many events as a prism-ami subscriber of one creation gets in the same window.
        results.push(await bareScenario(subscribers, Math.round((SECONDS * 1000) / INTERVAL_MS)));
      } else {
        results.push(await prismScenario(sim, kind === 'sse' ? 'sse' : 'ws', subscribers, Number(c ?? 1)));
      }
      const r = results[results.length - 1]!;
      console.error(
        `done: ${s}: ${r.messages} messages, p99 ${r.latencyMs.p99} ms, ${r.cpuUsPerMessage} µs CPU/message (${r.marginalCpuUsPerMessage} marginal) (load ${load()})`,
      );
    }
  } finally {
    await sim.stop();
  }
  const floor = (n: number) =>
    results.find((r) => r.transport === 'bare ws' && r.subscribers === n) ?? results.find((r) => r.transport === 'bare ws');
  console.log(`\nSubscription fan-out (poll interval ${INTERVAL_MS} ms, ${SECONDS} s window)\n`);
  console.log(
    table(
      [
        'transport',
        'subscribers',
        'creations',
        'messages',
        'msg/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/msg',
        'marginal µs/msg',
        '× bare ws (marginal)',
        'server CPU %',
        'RSS KB/sub',
        'heap KB/sub',
        'load avg',
      ],
      results.map((r) => {
        const f = floor(r.subscribers);
        return [
          r.transport,
          r.subscribers,
          r.creations,
          r.messages,
          r.messagesPerSecond,
          r.latencyMs.p50,
          r.latencyMs.p99,
          r.cpuUsPerMessage,
          r.marginalCpuUsPerMessage,
          f ? `${round(r.marginalCpuUsPerMessage / f.cpuUsPerMessage, 2)}×` : '-',
          r.serverCpuPercent,
          r.rssPerSubscriberKB,
          r.heapPerSubscriberKB,
          r.load,
        ];
      }),
    ),
  );
  console.log(`\nresults: ${saveResult('fanout', { intervalMs: INTERVAL_MS, seconds: SECONDS, results })}`);
}

await main();
