/**
 * The two EC2 implementations the parity scenarios run against, behind one interface: the built-in
 * simulator (in process, with an injected clock the scenario moves forward) and moto (an independent
 * implementation, DESIGN.md §3). Every call goes through the real `@aws-sdk/client-ec2`, so its
 * parser reads every response.
 *
 *   describe.each(BACKENDS)('on $name', ({ start }) => { let b: Backend; beforeAll(async () => (b = await start())); … });
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type Image,
  type Instance,
} from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { expect } from 'vitest';
import { BASE_IMAGES, startSimulator, type SimulatorOptions } from '../../simulator/index.js';
import { startMoto } from '../support/moto.js';

export type BackendName = 'simulator' | 'moto';

export interface Backend {
  readonly name: BackendName;
  readonly url: string;
  readonly accountId: string;
  /** A client for a region; retries off, so an error reaches the test as the backend answered it. */
  ec2(region?: string): EC2Client;
  /** An SSM client for a region, on the same endpoint (both backends serve SSM beside EC2). */
  ssm(region?: string): SSMClient;
  /**
   * Lets time pass for the backend. The simulator's clock moves (instances boot and stop, snapshots
   * progress); moto's transitions are immediate, so there it changes nothing.
   */
  elapse(seconds: number): void;
  /** Back to a fresh backend (moto: empty; simulator: seeded) between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Both backends use moto's default account id; the simulator is told to use the same. */
export const ACCOUNT_ID = '123456789012';

/**
 * What RunInstances launches from: one of the simulator's public Amazon Linux base images. moto does
 * not check that the image exists, so the same id serves both.
 */
export const LAUNCH_IMAGE_ID = BASE_IMAGES.x86_64;

type Client = EC2Client | SSMClient;

function clients<C extends Client>(make: (region: string) => C): { get(region: string): C; destroy(): void } {
  const byRegion = new Map<string, C>();
  return {
    get(region) {
      let client = byRegion.get(region);
      if (!client) byRegion.set(region, (client = make(region)));
      return client;
    },
    destroy() {
      for (const c of byRegion.values()) c.destroy();
    },
  };
}

const ec2Clients = (url: string) =>
  clients((region) => new EC2Client({ region, endpoint: url, credentials: CREDENTIALS, maxAttempts: 1 }));
const ssmClients = (url: string) =>
  clients((region) => new SSMClient({ region, endpoint: url, credentials: CREDENTIALS, maxAttempts: 1 }));

/** The simulator with an injected clock that only `elapse` moves (default speed: 1 GiB/s). */
export async function startSimulatorBackend(options: SimulatorOptions = {}): Promise<Backend> {
  let now = Date.now();
  const sim = await startSimulator({ speedGiBPerSecond: 1, accountId: ACCOUNT_ID, now: () => now, ...options });
  const ec2 = ec2Clients(sim.url);
  const ssm = ssmClients(sim.url);
  return {
    name: 'simulator',
    url: sim.url,
    accountId: sim.accountId,
    ec2: (region = 'us-east-1') => ec2.get(region),
    ssm: (region = 'us-east-1') => ssm.get(region),
    elapse(seconds) {
      now += seconds * 1000;
    },
    async reset() {
      const res = await fetch(`${sim.url}/_simulator/reset`, { method: 'POST' });
      expect(res.status).toBe(200);
    },
    async stop() {
      ec2.destroy();
      ssm.destroy();
      await sim.stop();
    },
  };
}

export async function startMotoBackend(): Promise<Backend> {
  const moto = await startMoto();
  const ec2 = ec2Clients(moto.url);
  const ssm = ssmClients(moto.url);
  return {
    name: 'moto',
    url: moto.url,
    accountId: ACCOUNT_ID,
    ec2: (region = 'us-east-1') => ec2.get(region),
    ssm: (region = 'us-east-1') => ssm.get(region),
    elapse() {
      // moto's images are available and its instances running at once.
    },
    reset: () => moto.reset(),
    async stop() {
      ec2.destroy();
      ssm.destroy();
      await moto.stop();
    },
  };
}

export const BACKENDS: { name: BackendName; start: () => Promise<Backend> }[] = [
  { name: 'simulator', start: () => startSimulatorBackend() },
  { name: 'moto', start: startMotoBackend },
];

/** Asserts that an SDK call fails with this EC2 error code and HTTP status. */
export async function expectEc2Error(call: Promise<unknown>, code: string, status = 400): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected the call to fail with ${code}`).toBeInstanceOf(Error);
  expect(err).toMatchObject({ name: code, $metadata: { httpStatusCode: status } });
}

/** EC2 tags as a plain record. */
export function tagMap(tags: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Launches one instance tagged `Name=name` and waits until it runs; returns it as DescribeInstances shows it. */
export async function launch(b: Backend, name: string, region = 'us-east-1'): Promise<Instance> {
  const ec2 = b.ec2(region);
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: LAUNCH_IMAGE_ID,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
    }),
  );
  const id = out.Instances?.[0]?.InstanceId ?? '';
  expect(id).toMatch(/^i-[0-9a-f]+$/);
  return waitForInstance(b, id, 'running', region);
}

/** Polls DescribeInstances (letting time pass between polls) until the instance is in `state`. */
export async function waitForInstance(b: Backend, id: string, state: string, region = 'us-east-1'): Promise<Instance> {
  let last: string | undefined;
  for (let i = 0; i < 10; i++) {
    const out = await b.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    last = instance?.State?.Name;
    if (instance && last === state) return instance;
    b.elapse(5);
  }
  throw new Error(`instance ${id} never reached ${state} on ${b.name} (last: ${last})`);
}

/** Polls DescribeImages (letting time pass between polls) until the image is available. */
export async function waitForImage(b: Backend, id: string, region = 'us-east-1'): Promise<Image> {
  let last: string | undefined;
  for (let i = 0; i < 20; i++) {
    const out = await b.ec2(region).send(new DescribeImagesCommand({ ImageIds: [id] }));
    const image = out.Images?.[0];
    last = image?.State;
    if (image && last === 'available') return image;
    b.elapse(30);
  }
  throw new Error(`image ${id} never became available on ${b.name} (last: ${last})`);
}

/** The snapshot ids an image lists in its block device mappings. */
export function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
}

/** Well-formed ids that no backend has issued. */
export const UNKNOWN = {
  instance: 'i-0123456789abcdef0',
  image: 'ami-0123456789abcdef0',
  snapshot: 'snap-0123456789abcdef0',
  volume: 'vol-0123456789abcdef0',
} as const;
