// Benchmark: time to a running workstation with launchInstance, on the built-in simulator.
//
// Method: the server runs in its own process on the in-process simulator (bench/support/
// server-child.ts), one AMI is captured from the seeded demo workstation, then N launches, first
// one at a time and then with `--concurrency` in flight. For each launch: the time from sending the
// launchInstance mutation to its response, from the response to instance(id) answering RUNNING
// (polled every 100 ms), and from the request to RUNNING. The simulator turns a pending instance
// running INSTANCE_TRANSITION_MS (2 s, a setting that stands for EC2's boot) after RunInstances, so
// "overhead" = request→RUNNING − 2 s is what the service and the polling add. Beside: the origin
// note's figures for AWS, ~30 s from a pre-built AMI against 5–8 min installing from scratch.
//
//   npx tsx bench/launch.ts [--launches 20] [--concurrency 10]
import { parseArgs } from 'node:util';
import { INSTANCE_TRANSITION_MS } from '../simulator/state.js';
import { BENCH_LIMITS, gql, load, percentile, pool, round, saveResult, sleep, startIpcChild, table } from './support/common.js';

const { values: args } = parseArgs({
  options: {
    launches: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '10' },
  },
});
const LAUNCHES = Number(args.launches);
const CONCURRENCY = Number(args.concurrency);
const POLL_MS = 100;

const CREATE = `mutation($input: CreateAmiInput!) { createAmi(input: $input) { __typename ... on CreateAmiSuccess { creation { id } } ... on Error { message } } }`;
const CREATION = `query($id: ID!) { amiCreation(id: $id) { status amiId } }`;
const LAUNCH = `mutation($input: LaunchInstanceInput!) { launchInstance(input: $input) { __typename ... on LaunchInstanceSuccess { instance { instanceId region state } } ... on Error { message } } }`;
const INSTANCE = `query($id: String!, $region: String) { instance(id: $id, region: $region) { state } }`;

interface Sample {
  /** request → mutation response */
  responseMs: number;
  /** mutation response → instance(id) RUNNING */
  toRunningMs: number;
  /** request → RUNNING */
  totalMs: number;
}

type Launched = { launchInstance: { __typename: string; instance?: { instanceId: string; region: string }; message?: string } };

async function captureAmi(url: string, token: string): Promise<string> {
  const created = await gql<{ createAmi: { __typename: string; creation?: { id: string }; message?: string } }>(
    url,
    token,
    CREATE,
    {
      input: { instance: 'demo-workstation', name: `bench-launch-${Date.now()}`, noReboot: true },
    },
  );
  if (!created.createAmi.creation) throw new Error(`createAmi: ${created.createAmi.message}`);
  for (;;) {
    const { amiCreation } = await gql<{ amiCreation: { status: string; amiId: string | null } }>(url, token, CREATION, {
      id: created.createAmi.creation.id,
    });
    if (amiCreation.status === 'COMPLETED') return amiCreation.amiId!;
    if (['FAILED', 'CANCELLED'].includes(amiCreation.status)) throw new Error(`creation ${amiCreation.status}`);
    await sleep(200);
  }
}

async function launchOnce(url: string, token: string, amiId: string, i: number): Promise<Sample> {
  const started = performance.now();
  const { launchInstance: result } = await gql<Launched>(url, token, LAUNCH, {
    input: { amiId, instanceType: 't3.micro', name: `bench-${i}` },
  });
  const answered = performance.now();
  if (!result.instance) throw new Error(`launchInstance: ${result.message}`);
  for (;;) {
    const { instance } = await gql<{ instance: { state: string } | null }>(url, token, INSTANCE, {
      id: result.instance.instanceId,
      region: result.instance.region,
    });
    if (instance?.state === 'RUNNING') break;
    if (!instance) throw new Error(`instance ${result.instance.instanceId} vanished`);
    await sleep(POLL_MS);
  }
  const running = performance.now();
  return { responseMs: answered - started, toRunningMs: running - answered, totalMs: running - started };
}

function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] ?? NaN };
}

function rows(label: string, samples: Sample[]): (string | number)[][] {
  const line = (what: string, values: number[]) => {
    const s = stats(values);
    return [label, what, round(s.min, 0), round(s.median, 0), round(s.p95, 0), round(s.max, 0)];
  };
  return [
    line(
      'request → response',
      samples.map((s) => s.responseMs),
    ),
    line(
      'response → RUNNING',
      samples.map((s) => s.toRunningMs),
    ),
    line(
      'request → RUNNING',
      samples.map((s) => s.totalMs),
    ),
    line(
      `overhead (− ${INSTANCE_TRANSITION_MS / 1000} s boot)`,
      samples.map((s) => s.totalMs - INSTANCE_TRANSITION_MS),
    ),
  ];
}

async function main(): Promise<void> {
  const server = await startIpcChild('bench/support/server-child.ts', {
    DATABASE_PATH: ':memory:',
    PORT: '0',
    HOST: '127.0.0.1',
    EC2_BACKEND: 'simulator',
    SIMULATOR_SPEED_GIB_PER_SECOND: '1000',
    POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    METRICS: 'off',
    MUTATIONS_PER_MINUTE: '0',
    // The seeded instance is the local user's: capturing it is set-up, not what is measured.
    INSTANCE_ACCESS: 'any',
    ...BENCH_LIMITS,
  });
  try {
    const { url, token } = server.ready as { url: string; token: string };
    const amiId = await captureAmi(url, token);
    console.log(
      `AMI ${amiId} captured; ${LAUNCHES} launches one at a time, then ${LAUNCHES} with ${CONCURRENCY} in flight (load ${load()})`,
    );
    const sequential: Sample[] = [];
    for (let i = 0; i < LAUNCHES; i++) sequential.push(await launchOnce(url, token, amiId, i));
    const concurrent = await pool(
      Array.from({ length: LAUNCHES }, (_, i) => i),
      CONCURRENCY,
      (i) => launchOnce(url, token, amiId, LAUNCHES + i),
    );
    console.log(
      '\n' +
        table(
          ['launches', 'interval', 'min ms', 'median ms', 'p95 ms', 'max ms'],
          [...rows('sequential', sequential), ...rows(`${CONCURRENCY} concurrent`, concurrent)],
        ),
    );
    console.log(
      `\nThe simulator boots an instance in ${INSTANCE_TRANSITION_MS / 1000} s (a setting). For comparison (origin note): ` +
        '~30 s from a pre-built AMI on AWS; 5–8 min installing from scratch.',
    );
    const file = saveResult('launch', {
      launches: LAUNCHES,
      concurrency: CONCURRENCY,
      pollMs: POLL_MS,
      simulatorBootMs: INSTANCE_TRANSITION_MS,
      sequential: summary(sequential),
      concurrent: summary(concurrent),
      load: load(),
    });
    console.log(`saved ${file}`);
  } finally {
    await server.stop();
  }
}

function summary(samples: Sample[]) {
  return {
    responseMs: stats(samples.map((s) => s.responseMs)),
    toRunningMs: stats(samples.map((s) => s.toRunningMs)),
    totalMs: stats(samples.map((s) => s.totalMs)),
    overheadMs: stats(samples.map((s) => s.totalMs - INSTANCE_TRANSITION_MS)),
  };
}

await main();
