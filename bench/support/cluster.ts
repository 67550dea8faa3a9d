// Replicas for the scale-out benchmarks: a PostgreSQL database of the benchmark's own (created on
// the local server, dropped at the end), a Redis key prefix of its own, the standalone simulator,
// and N prism-ami replicas started by test/support/replicas.ts (the same launcher the scale tests
// use), plus creations started through the API. Nothing here is imported by src/ or test/.
import { randomBytes } from 'node:crypto';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';

import { BASE_IMAGES } from '../../simulator/index.js';
import { createToken, startReplicas, type Replica } from '../../test/support/replicas.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import {
  BENCH_INSTANCE_TAGS,
  BENCH_LIMITS,
  BENCH_USER,
  gql,
  pool,
  sleep,
  startSimulatorChild,
  type SimulatorChild,
} from './common.js';

/** The maintenance database where the benchmarks create and drop their own. */
export const BENCH_POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh database (prism_bench_<hex>) on the local PostgreSQL; drop() ends its connections too. */
export function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createTestDatabase({ prefix: 'prism_bench', maintenanceUrl: BENCH_POSTGRES_URL });
}

/** A Redis key prefix no other run shares. */
export const benchKeyPrefix = (name: string) => `bench-${name}-${randomBytes(4).toString('hex')}:`;

export interface Cluster {
  sim: SimulatorChild;
  replicas: Replica[];
  databaseUrl: string;
  keyPrefix: string;
  token: string;
  ec2: EC2Client;
  /** Starts one more replica on the same database, prefix and simulator (INSTANCE_ID `id`), added to `replicas`. */
  addReplica(id: string): Promise<Replica>;
  /** Ends the replicas still running (SIGTERM), the simulator, and drops the database. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  name: string;
  replicas: number;
  pollIntervalMs: number;
  /** Simulator speed in GiB/s (an 8 GiB snapshot takes 8 / speed seconds). */
  speed: number;
  env?: Record<string, string>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const database = await createBenchDatabase();
  const keyPrefix = benchKeyPrefix(options.name);
  const sim = await startSimulatorChild({ speed: options.speed });
  let replicas: Replica[] = [];
  const ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: sim.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const stop = async () => {
    ec2.destroy();
    await Promise.all(replicas.filter((r) => r.alive()).map((r) => r.kill('SIGTERM')));
    await sim.stop();
    await database.drop();
  };
  const replicaOptions = (env: Record<string, string> = {}) => ({
    simulatorUrl: sim.url,
    databaseUrl: database.url,
    redisUrl: BENCH_REDIS_URL,
    keyPrefix,
    pollIntervalMs: options.pollIntervalMs,
    env: { LOG_LEVEL: 'info', METRICS: 'off', ...BENCH_LIMITS, ...options.env, ...env },
  });
  try {
    replicas = await startReplicas(options.replicas, replicaOptions());
    const token = await createToken(database.url, BENCH_USER);
    const addReplica = async (id: string) => {
      const [added] = await startReplicas(1, replicaOptions({ INSTANCE_ID: id }));
      replicas.push(added!);
      return added!;
    };
    return { sim, replicas, databaseUrl: database.url, keyPrefix, token, ec2, addReplica, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const CREATE = `mutation($input: CreateAmiInput!) { createAmi(input: $input) { __typename ... on CreateAmiSuccess { creation { id amiId } } ... on Error { message } } }`;

/** `n` instances of BENCH_USER, then one createAmi per instance through `url` (a replica). */
export async function startCreations(
  cluster: Cluster,
  url: string,
  n: number,
  label: string,
): Promise<{ id: string; amiId: string }[]> {
  const instances: string[] = [];
  for (let left = n; left > 0; left -= 20) {
    const count = Math.min(20, left);
    const run = await cluster.ec2.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: count,
        MaxCount: count,
        TagSpecifications: BENCH_INSTANCE_TAGS,
      }),
    );
    instances.push(...(run.Instances ?? []).map((i) => i.InstanceId!));
  }
  await sleep(2_100); // pending → running
  return pool(instances, 4, async (instance, k) => {
    const res = await gql<{ createAmi: { creation?: { id: string; amiId: string }; message?: string } }>(
      url,
      cluster.token,
      CREATE,
      {
        input: { instance, name: `${label}-${k}-${randomBytes(2).toString('hex')}` },
      },
    );
    if (!res.createAmi.creation) throw new Error(`createAmi: ${res.createAmi.message}`);
    return res.createAmi.creation;
  });
}

/** The replica whose logs say it acquired the tracker lease of `region` last (and that is alive). */
export function trackerLeaseHolder(replicas: Replica[], region = 'us-east-1'): Replica | undefined {
  let best: { replica: Replica; time: number } | undefined;
  for (const r of replicas) {
    if (!r.alive()) continue;
    for (const line of r.logs()) {
      if (line.msg === 'region lease acquired' && line.scope === 'tracker' && line.region === region) {
        const time = Number(line.time ?? 0);
        if (!best || time > best.time) best = { replica: r, time };
      }
    }
  }
  return best?.replica;
}
