// Benchmark 9: EC2 Describe* calls per tick with 1 replica vs 3 replicas (PostgreSQL + Redis,
// test/support/replicas.ts) following the same number of creations on the simulator. The tracker
// polls a region only while it holds that region's lease, so 3 replicas should cost what 1 does.
//
// Each case is a fresh database, Redis prefix and simulator (speed 0.0005 GiB/s: the images stay
// pending for hours, so every creation is polled in every tick). The creations are started through
// replica 0; after a settling time (the first tick tags each image's snapshots; start-up
// reconciliation) the simulator's counters are reset and read again after the same window. Every
// Describe* action is counted, by action, as the simulator saw it (`/_simulator/stats`).
//
//   npx tsx bench/replica-describe-calls.ts [--creations 20] [--ticks 10] [--interval-ms 1000] [--replicas 1,3]
import { parseArgs } from 'node:util';
import { startCluster, startCreations, trackerLeaseHolder } from './support/cluster.js';
import { load, round, saveResult, sleep, table } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    creations: { type: 'string', default: '20' },
    ticks: { type: 'string', default: '10' },
    'interval-ms': { type: 'string', default: '1000' },
    replicas: { type: 'string', default: '1,3' },
  },
});
const CREATIONS = Number(args.creations);
const TICKS = Number(args.ticks);
const INTERVAL_MS = Number(args['interval-ms']);
const CASES = args.replicas.split(',').map(Number);

interface Case {
  replicas: number;
  windowMs: number;
  calls: Record<string, number>;
  describe: number;
  describeTracker: number;
  perTick: number;
  trackerHolder: string;
  load: string;
}

/** DescribeImages and DescribeSnapshots are the tracker's; DescribeRegions is each replica's readiness probe. */
const TRACKER_ACTIONS = ['DescribeImages', 'DescribeSnapshots'];

async function measure(n: number): Promise<Case> {
  const cluster = await startCluster({ name: 'describe', replicas: n, pollIntervalMs: INTERVAL_MS, speed: 0.0005 });
  try {
    await startCreations(cluster, cluster.replicas[0]!.url, CREATIONS, 'describe');
    await sleep(3 * INTERVAL_MS + 2000);
    await cluster.sim.resetStats();
    const t0 = performance.now();
    await sleep(TICKS * INTERVAL_MS);
    const stats = await cluster.sim.stats();
    const windowMs = performance.now() - t0;
    const calls = Object.fromEntries(Object.entries(stats.calls).filter(([a]) => a.startsWith('Describe')));
    const describe = Object.values(calls).reduce((a, b) => a + b, 0);
    const describeTracker = TRACKER_ACTIONS.reduce((a, k) => a + (calls[k] ?? 0), 0);
    const ticks = windowMs / INTERVAL_MS;
    return {
      replicas: n,
      windowMs: Math.round(windowMs),
      calls,
      describe,
      describeTracker,
      perTick: round(describeTracker / ticks, 2),
      trackerHolder: trackerLeaseHolder(cluster.replicas)?.id ?? '?',
      load: load(),
    };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const cases: Case[] = [];
  for (const n of CASES) {
    const c = await measure(n);
    cases.push(c);
    console.error(`done: ${n} replica(s): ${JSON.stringify(c.calls)} (load ${c.load})`);
  }
  console.log(
    `\nDescribe* calls at the simulator, ${CREATIONS} creations in us-east-1, poll ${INTERVAL_MS} ms, ${TICKS}-tick window\n`,
  );
  const base = cases[0]!;
  console.log(
    table(
      [
        'replicas',
        'window ms',
        'DescribeImages',
        'DescribeSnapshots',
        'tracker Describe*/tick',
        'other Describe* (by action)',
        `÷ ${base.replicas} replica(s)`,
        'tracker lease',
        'load avg',
      ],
      cases.map((c) => [
        c.replicas,
        c.windowMs,
        c.calls.DescribeImages ?? 0,
        c.calls.DescribeSnapshots ?? 0,
        c.perTick,
        Object.entries(c.calls)
          .filter(([a]) => !TRACKER_ACTIONS.includes(a))
          .map(([a, k]) => `${a} ${k}`)
          .join(', ') || '0',
        `${round(c.describeTracker / (base.describeTracker || 1), 2)}×`,
        c.trackerHolder,
        c.load,
      ]),
    ),
  );
  console.log(
    `\nresults: ${saveResult('replica-describe-calls', { creations: CREATIONS, ticks: TICKS, intervalMs: INTERVAL_MS, cases })}`,
  );
}

await main();
