// Benchmark 1: EC2 calls made to follow N concurrent creations: prism-ami's batched tracker versus
// one SDK waiter (`waitUntilImageAvailable`) per creation, the way Packer and `aws ec2 wait` do it.
//
// The standalone simulator runs in its own process behind a request-counting proxy (raw HTTP
// requests by action and status), and its /_simulator/stats counts calls by action and region
// and the requests it throttled. Creations are made through the real service path
// (`services.creations.create`), images stay pending (slow snapshot speed), and the tracker is
// driven by `tracker.runOnce()` at a fixed interval so every tick is counted.
//
//   npx tsx bench/tracker-calls.ts [--sizes 1,50,200,1000] [--ticks 5] [--interval-ms 2000]
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand, waitUntilImageAvailable } from '@aws-sdk/client-ec2';
import { pino } from 'pino';
import { buildApp, VERSION, type App } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { createServices } from '../src/services/index.js';
import { BASE_IMAGES } from '../simulator/index.js';
import {
  BENCH_INSTANCE_TAGS,
  BENCH_LIMITS,
  BENCH_USER,
  load,
  pool,
  round,
  saveResult,
  sleep,
  startCountingProxy,
  startSimulatorChild,
  table,
  type CountingProxy,
  type SimStats,
  type SimulatorChild,
} from './support/common.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,50,200,1000' },
    'spread-sizes': { type: 'string', default: '3,50,200,1000' },
    ticks: { type: 'string', default: '5' },
    'interval-ms': { type: 'string', default: '2000' },
  },
});
const SIZES = args.sizes.split(',').filter(Boolean).map(Number);
const SPREAD_SIZES = args['spread-sizes'].split(',').filter(Boolean).map(Number);
const TICKS = Number(args.ticks);
const INTERVAL_MS = Number(args['interval-ms']);
const REGIONS3 = ['us-east-1', 'us-west-2', 'eu-west-1'];
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const DESCRIBE = ['DescribeImages', 'DescribeSnapshots'];

interface Row {
  creations: number;
  regions: number;
  tracker: {
    warmupTickMs: number;
    warmupCalls: Record<string, number>;
    ticks: number;
    windowS: number;
    describePerTick: number;
    describePerTickPerRegion: number;
    describePerSecond: number;
    requests: number;
    throttled: number;
    tickMsMean: number;
  };
  waiters: {
    windowS: number;
    requests: number;
    describePerInterval: number;
    describePerSecond: number;
    throttled: number;
    status: Record<string, number>;
  };
  ratio: number;
  load: string;
}

function describeCount(s: SimStats): number {
  return DESCRIBE.reduce((sum, a) => sum + (s.calls[a] ?? 0), 0);
}

/** One row: `total` pending creations spread over `regions`, followed by the tracker, then by waiters. */
async function scenario(sim: SimulatorChild, proxy: CountingProxy, total: number, regions: string[]): Promise<Row> {
  await sim.configure({ tokenBucket: false });
  await fetch(`${sim.url}/_simulator/reset`, { method: 'POST' });
  const { app, config } = await startApp(proxy);
  const instances = await launchInstances(sim, regions, splitEvenly(total, regions.length));
  await sleep(2_100); // simulated instances are pending for 2 s
  const imageIds = await createAll(app, config, instances, total);
  const tracker = await measureTracker(sim, proxy, app, total);
  await app.stop();
  const waiters = await measureWaiters(sim, proxy, regions, imageIds);
  await assertStillPending(sim, regions[0]!, imageIds);
  return toRow(total, imageIds.size, tracker, waiters);
}

/** The server in this process, pointed at the simulator through the counting proxy. */
async function startApp(proxy: CountingProxy): Promise<{ app: App; config: Config }> {
  const config = loadConfig({
    DATABASE_PATH: ':memory:',
    EC2_BACKEND: 'aws',
    AWS_ENDPOINT_URL_EC2: proxy.url,
    POLL_INTERVAL_MS: String(INTERVAL_MS),
    LOG_LEVEL: 'silent',
    MUTATIONS_PER_MINUTE: '0',
    PORT: '0',
    ...BENCH_LIMITS,
  });
  const app = await buildApp(config, pino({ level: 'silent' }), { credentials: CREDENTIALS });
  return { app, config };
}

/** `total` split over `parts` as evenly as whole numbers allow, the first parts taking the remainder. */
function splitEvenly(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Instances straight from the simulator, not through the proxy, so they are not counted. */
async function launchInstances(sim: SimulatorChild, regions: string[], perRegion: number[]): Promise<Map<string, string[]>> {
  const instances = new Map<string, string[]>();
  for (const [i, region] of regions.entries()) {
    const n = perRegion[i]!;
    if (n === 0) continue;
    const direct = new EC2Client({ region, endpoint: sim.url, credentials: CREDENTIALS });
    const ids: string[] = [];
    // The simulator, like EC2's default quota, launches at most 20 instances per RunInstances.
    while (ids.length < n) {
      const count = Math.min(20, n - ids.length);
      const run = await direct.send(
        new RunInstancesCommand({
          ImageId: BASE_IMAGES.x86_64,
          MinCount: count,
          MaxCount: count,
          InstanceType: 't3.micro',
          TagSpecifications: BENCH_INSTANCE_TAGS,
        }),
      );
      ids.push(...(run.Instances ?? []).map((x) => x.InstanceId!));
    }
    direct.destroy();
    instances.set(region, ids);
  }
  return instances;
}

/** Creations through the real service path, each region's from a service whose source region it is. */
async function createAll(
  app: App,
  config: Config,
  instances: Map<string, string[]>,
  total: number,
): Promise<Map<string, string[]>> {
  const viewer = { user: BENCH_USER };
  const imageIds = new Map<string, string[]>();
  for (const [region, instanceIds] of instances) {
    const services =
      region === config.region
        ? app.services
        : createServices({ ...app.deps, sourceRegion: region }, { version: VERSION, backend: 'aws' });
    const created = await pool(instanceIds, 16, (instance, k) =>
      services.creations.create(viewer, { instance, name: `bench-${total}-${region}-${k}` }),
    );
    imageIds.set(
      region,
      created.map((c) => c.amiId!),
    );
    if (created.some((c) => !c.amiId)) throw new Error('a creation has no AMI id');
  }
  return imageIds;
}

interface TrackerRun {
  warmupTickMs: number;
  warmupCalls: Record<string, number>;
  tickMs: number[];
  windowS: number;
  stats: SimStats;
  requests: number;
}

async function measureTracker(sim: SimulatorChild, proxy: CountingProxy, app: App, total: number): Promise<TrackerRun> {
  // Warm-up tick: the one-off CreateTags per creation (snapshot tags) happens here.
  proxy.reset();
  const t0 = performance.now();
  await app.tracker.runOnce();
  const warmupTickMs = performance.now() - t0;
  const warmupCalls = proxy.counts().byAction;

  // Steady state at EC2's published request rates.
  await sim.configure({ tokenBucket: true });
  await sim.resetStats();
  proxy.reset();
  const tickMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < TICKS; i++) {
    const at = performance.now();
    const report = await app.tracker.runOnce();
    tickMs.push(performance.now() - at);
    if (report.creations !== total) throw new Error(`tracker saw ${report.creations} creations, expected ${total}`);
    const next = start + (i + 1) * INTERVAL_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  const windowS = (performance.now() - start) / 1000;
  return { warmupTickMs, warmupCalls, tickMs, windowS, stats: await sim.stats(), requests: proxy.counts().requests };
}

interface WaiterRun {
  windowS: number;
  stats: SimStats;
  proxy: ReturnType<CountingProxy['counts']>;
}

/** The alternative: one waiter per image, polling at the same interval, for the same images. */
async function measureWaiters(
  sim: SimulatorChild,
  proxy: CountingProxy,
  regions: string[],
  imageIds: Map<string, string[]>,
): Promise<WaiterRun> {
  await sim.resetStats();
  proxy.reset();
  const waiterClients = new Map(
    regions.map((r) => [r, new EC2Client({ region: r, endpoint: proxy.url, credentials: CREDENTIALS })]),
  );
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per waiter
  const t0 = performance.now();
  const waiters = [...imageIds].flatMap(([region, ids]) =>
    ids.map((id) =>
      waitUntilImageAvailable(
        {
          client: waiterClients.get(region)!,
          maxWaitTime: (TICKS * INTERVAL_MS) / 1000 + 60,
          minDelay: INTERVAL_MS / 1000,
          maxDelay: INTERVAL_MS / 1000,
          abortSignal: abort.signal,
        },
        { ImageIds: [id] },
      ).catch(() => undefined),
    ),
  );
  await sleep(TICKS * INTERVAL_MS);
  const windowS = (performance.now() - t0) / 1000;
  const stats = await sim.stats();
  const counts = proxy.counts();
  abort.abort();
  await Promise.all(waiters);
  for (const c of waiterClients.values()) c.destroy();
  return { windowS, stats, proxy: counts };
}

/**
 * Sanity: the images really were still pending all along, or the comparison is void (asked with
 * the bucket off: the waiters emptied it).
 */
async function assertStillPending(sim: SimulatorChild, region: string, imageIds: Map<string, string[]>): Promise<void> {
  await sim.configure({ tokenBucket: false });
  const check = await new EC2Client({ region, endpoint: sim.url, credentials: CREDENTIALS }).send(
    new DescribeImagesCommand({ ImageIds: imageIds.get(region)!.slice(0, 1) }),
  );
  if (check.Images?.[0]?.State !== 'pending') throw new Error('images finished during the measurement; lower --speed');
}

function toRow(total: number, activeRegions: number, tracker: TrackerRun, waiters: WaiterRun): Row {
  const describes = describeCount(tracker.stats);
  const describePerTick = describes / TICKS;
  const waiterDescribes = describeCount(waiters.stats);
  const waiterPerInterval = waiterDescribes / (waiters.windowS / (INTERVAL_MS / 1000));
  return {
    creations: total,
    regions: activeRegions,
    tracker: {
      warmupTickMs: round(tracker.warmupTickMs),
      warmupCalls: tracker.warmupCalls,
      ticks: TICKS,
      windowS: round(tracker.windowS, 2),
      describePerTick,
      describePerTickPerRegion: describePerTick / activeRegions,
      describePerSecond: round(describes / tracker.windowS, 2),
      requests: tracker.requests,
      throttled: tracker.stats.throttled,
      tickMsMean: round(tracker.tickMs.reduce((a, b) => a + b, 0) / tracker.tickMs.length),
    },
    waiters: {
      windowS: round(waiters.windowS, 2),
      requests: waiters.proxy.requests,
      describePerInterval: round(waiterPerInterval, 1),
      describePerSecond: round(waiterDescribes / waiters.windowS, 1),
      throttled: waiters.stats.throttled,
      status: waiters.proxy.byStatus,
    },
    ratio: round(waiterPerInterval / describePerTick, 1),
    load: load(),
  };
}

async function main(): Promise<void> {
  // 0.0005 GiB/s: an 8 GiB snapshot takes 4.4 hours, so every image stays pending while measured.
  const sim = await startSimulatorChild({ speed: 0.0005 });
  const proxy = await startCountingProxy(sim.url);
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      rows.push(await scenario(sim, proxy, n, ['us-east-1']));
      console.error(`done: ${n} creations in 1 region (load ${load()})`);
    }
    for (const n of SPREAD_SIZES) {
      rows.push(await scenario(sim, proxy, n, REGIONS3));
      console.error(`done: ${n} creations in 3 regions (load ${load()})`);
    }
  } finally {
    await proxy.close();
    await sim.stop();
  }
  console.log(
    `\nEC2 Describe* calls to follow N pending creations, poll interval ${INTERVAL_MS} ms, ${TICKS} ticks (simulator --token-bucket on while measuring)\n`,
  );
  console.log(
    table(
      [
        'creations',
        'regions',
        'tracker Describe*/tick',
        'per tick per region',
        'tracker Describe*/s',
        'tracker throttled',
        'tick ms (mean)',
        'waiters Describe*/interval',
        'waiters Describe*/s',
        'waiters throttled',
        'ratio (waiters ÷ tracker)',
        'load avg',
      ],
      rows.map((r) => [
        r.creations,
        r.regions,
        r.tracker.describePerTick,
        r.tracker.describePerTickPerRegion,
        r.tracker.describePerSecond,
        r.tracker.throttled,
        r.tracker.tickMsMean,
        r.waiters.describePerInterval,
        r.waiters.describePerSecond,
        r.waiters.throttled,
        `${r.ratio}×`,
        r.load,
      ]),
    ),
  );
  console.log(
    '\nWarm-up tick (first tick after the creations: one CreateTags per creation for its snapshots, token bucket off):',
  );
  console.log(
    table(
      ['creations', 'regions', 'calls', 'tick ms'],
      rows.map((r) => [r.creations, r.regions, JSON.stringify(r.tracker.warmupCalls), r.tracker.warmupTickMs]),
    ),
  );
  console.log(`\nresults: ${saveResult('tracker-calls', { intervalMs: INTERVAL_MS, ticks: TICKS, rows })}`);
}

await main();
