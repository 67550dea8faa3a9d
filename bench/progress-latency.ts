// Benchmark 2: progress latency, from the instant a snapshot's progress changes in the simulator to
// the moment a graphql-ws subscriber receives the event saying so.
//
// Method: the simulator computes a snapshot's progress from its clock, linearly:
//   Progress(t) = floor(100 × (t − StartTime) × speed / size) %
// so the instant the snapshot reaches K% is exactly StartTime + (K/100) × size/speed (StartTime from
// DescribeSnapshots, ms precision; same machine, same clock). Each subscriber event whose message
// says "Creating snapshot - K% complete" for a new K is one sample: receipt time − change instant.
// Expected: uniform over one poll interval (when in the interval the change falls) plus the
// tracker's Describe round trip, its SQLite write and the fan-out. Target: p99 ≤ interval + 50 ms.
//
// Processes: the standalone simulator, the server (bench/support/server-child.ts) and this one
// (subscribers) are separate, as in production.
//
//   npx tsx bench/progress-latency.ts [--creations 20] [--seconds 60] [--interval-ms 1000]
import { parseArgs } from 'node:util';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { BASE_IMAGES } from '../simulator/index.js';
import {
  BENCH_INSTANCE_TAGS,
  BENCH_LIMITS,
  gql,
  load,
  pool,
  round,
  saveResult,
  sleep,
  startIpcChild,
  startSimulatorChild,
  summarize,
  table,
} from './support/common.js';
import { wsSubscriber, type Subscriber } from './support/subscribers.js';

const { values: args } = parseArgs({
  options: {
    creations: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '1000' },
  },
});
const CREATIONS = Number(args.creations);
const SECONDS = Number(args.seconds);
const INTERVAL_MS = Number(args['interval-ms']);
const SIZE_GIB = 8; // the simulator's base image: one 8 GiB volume
// 1% every 1.37 × interval: not a multiple of the interval, so changes fall at every phase of a tick.
const SPEED = SIZE_GIB / 100 / ((1.37 * INTERVAL_MS) / 1000);
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

const CREATE = `mutation($input: CreateAmiInput!) { createAmi(input: $input) { __typename ... on CreateAmiSuccess { creation { id amiId } } ... on Error { message } } }`;
const PROGRESS = `subscription($id: ID!) { amiProgress(id: $id) { id progress message updatedAt } }`;

/** Where a creation's snapshot started and the last K% seen for it (-1: nothing yet). */
interface Follow {
  startMs: number;
  lastK: number;
}

async function main(): Promise<void> {
  const sim = await startSimulatorChild({ speed: SPEED });
  const server = await startIpcChild('bench/support/server-child.ts', {
    DATABASE_PATH: ':memory:',
    PORT: '0',
    EC2_BACKEND: 'aws',
    AWS_ENDPOINT_URL_EC2: sim.url,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    POLL_INTERVAL_MS: String(INTERVAL_MS),
    LOG_LEVEL: 'warn',
    MUTATIONS_PER_MINUTE: '0',
    ...BENCH_LIMITS,
  });
  const url = server.ready.url as string;
  const token = server.ready.token as string;
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: sim.url, credentials: CREDENTIALS });
  const subs: Subscriber[] = [];
  const samples: number[] = [];
  try {
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: CREATIONS,
        MaxCount: CREATIONS,
        TagSpecifications: BENCH_INSTANCE_TAGS,
      }),
    );
    const instances = (run.Instances ?? []).map((i) => i.InstanceId!);
    await sleep(2_100);
    const created = await createAll(url, token, instances);
    const startOf = await snapshotStarts(ec2, created);
    for (const c of created) subs.push(follow(url, token, c.id, { startMs: startOf.get(c.id)!, lastK: -1 }, samples));
    await Promise.all(subs.map((s) => s.ready));
    await sleep(SECONDS * 1000);
  } finally {
    for (const s of subs) s.close();
    ec2.destroy();
    await server.stop();
    await sim.stop();
  }
  report(samples);
}

async function createAll(url: string, token: string, instances: string[]): Promise<{ id: string; amiId: string }[]> {
  return pool(instances, 4, async (instance, k) => {
    const res = await gql<{ createAmi: { creation?: { id: string; amiId: string }; message?: string } }>(url, token, CREATE, {
      input: { instance, name: `latency-${k}` },
    });
    if (!res.createAmi.creation) throw new Error(`createAmi: ${res.createAmi.message}`);
    return res.createAmi.creation;
  });
}

/** Each creation's snapshot StartTime (creation id → ms): the origin of its change instants. */
async function snapshotStarts(ec2: EC2Client, created: { id: string; amiId: string }[]): Promise<Map<string, number>> {
  const images = await ec2.send(new DescribeImagesCommand({ ImageIds: created.map((c) => c.amiId) }));
  const snapOf = new Map((images.Images ?? []).map((i) => [i.ImageId!, i.BlockDeviceMappings![0]!.Ebs!.SnapshotId!]));
  const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [...snapOf.values()] }));
  const startOf = new Map((snaps.Snapshots ?? []).map((s) => [s.SnapshotId!, s.StartTime!.getTime()]));
  return new Map(created.map((c) => [c.id, startOf.get(snapOf.get(c.amiId)!)!]));
}

/** Subscribes to one creation; every new K% after the first event adds a sample to `samples`. */
function follow(url: string, token: string, id: string, state: Follow, samples: number[]): Subscriber {
  const msPerPercent = (SIZE_GIB / 100 / SPEED) * 1000;
  return wsSubscriber(url, token, { query: PROGRESS, variables: { id } }, ({ at, data }) => {
    const p = data.amiProgress as { id: string; message: string };
    const k = Number(/Creating snapshot - (\d+)% complete/.exec(p.message)?.[1] ?? Number.NaN);
    if (!Number.isFinite(k) || k <= state.lastK) return;
    const first = state.lastK < 0;
    state.lastK = k;
    if (first || k === 0) return; // the current state at subscribe time, not a change
    samples.push(at - (state.startMs + k * msPerPercent));
  });
}

function report(samples: number[]): void {
  const sum = summarize(samples);
  const result = {
    intervalMs: INTERVAL_MS,
    creations: CREATIONS,
    seconds: SECONDS,
    speedGiBPerSecond: SPEED,
    latencyMs: {
      n: sum.n,
      p50: round(sum.p50),
      p90: round(sum.p90),
      p99: round(sum.p99),
      max: round(sum.max),
      mean: round(sum.mean),
    },
    overIntervalP99Ms: round(sum.p99 - INTERVAL_MS),
    negative: samples.filter((x) => x < 0).length,
    target: `p99 ≤ ${INTERVAL_MS + 50} ms`,
    met: sum.p99 <= INTERVAL_MS + 50,
    load: load(),
  };
  console.log(
    `\nProgress latency: snapshot progress change in the simulator → graphql-ws subscriber (poll interval ${INTERVAL_MS} ms)\n`,
  );
  console.log(
    table(
      ['samples', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p99 − interval', 'target', 'met', 'load avg'],
      [
        [
          sum.n,
          result.latencyMs.p50,
          result.latencyMs.p90,
          result.latencyMs.p99,
          result.latencyMs.max,
          result.overIntervalP99Ms,
          result.target,
          result.met ? 'yes' : 'NO',
          result.load,
        ],
      ],
    ),
  );
  if (result.negative) console.log(`\n${result.negative} negative samples: clock model mismatch`);
  console.log(`\nresults: ${saveResult(`progress-latency-${INTERVAL_MS}`, result)}`);
}

await main();
