/**
 * Responsible for starting and stopping the EC2-compatible simulator (README.md beside this file):
 * an HTTP endpoint speaking the EC2 Query protocol that `@aws-sdk/client-ec2` and the AWS CLI talk
 * to unchanged, with seeded instances, snapshot progress driven by the clock, fault injection and
 * optional persistence.
 *
 *   const sim = await startSimulator({ port: 0 });
 *   new EC2Client({ region: 'us-east-1', endpoint: sim.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 *   await sim.stop();
 */
import type { AddressInfo } from 'node:net';
import { createRuntime } from './context.js';
import { createThrottle } from './faults.js';
import { createSaver, readState, type Saver } from './persistence.js';
import { createSimulatorServer, type SimulatorLogger } from './server.js';
import { createStats } from './stats.js';

export interface SimulatorOptions {
  host?: string;
  port?: number;
  speedGiBPerSecond?: number;
  throttleRate?: number;
  failRate?: number;
  blockPublicAccess?: boolean;
  statePath?: string;
  accountId?: string;
  now?: () => number;
  random?: () => number;
  logger?: SimulatorLogger;
  /** EC2's request token buckets on top of `throttleRate` (default false). */
  tokenBucket?: boolean;
  /** Copies in progress per destination region before CopyImage answers ResourceLimitExceeded (default 20). */
  maxConcurrentCopies?: number;
}

export interface RunningSimulator {
  url: string;
  port: number;
  accountId: string;
  stop(): Promise<void>;
}

export type { SimulatorLogger } from './server.js';
export { BASE_IMAGES, DEFAULT_REGION, REGIONS, SEEDED_INSTANCES, SEEDED_OWNER_TAG } from './seed.js';

/**
 * 0.5 GiB/s: the seeded demo-workstation (30 GiB) completes in 60 s, "about a minute", long enough to
 * watch a progress bar and a few dozen tracker polls (1 s on the simulator) yet short enough for a
 * demo; teaching-env (16 GiB) takes 32 s, and genomics-pipeline (50 + 200 GiB, in parallel) shows
 * size-weighted progress over ~7 minutes. Real first snapshots are slower (tens of minutes).
 */
export const DEFAULT_SPEED_GIB_PER_SECOND = 0.5;

/**
 * EBS's default quota "Concurrent snapshot copies per destination Region" (20): an AMI copy is one
 * such copy operation here, whatever its number of snapshots.
 */
export const DEFAULT_MAX_CONCURRENT_COPIES = 20;

const copyLimit = (v: number | undefined): number => {
  const value = v ?? DEFAULT_MAX_CONCURRENT_COPIES;
  if (!(Number.isInteger(value) && value >= 1))
    throw new Error(`simulator maxConcurrentCopies must be a whole number of at least 1, got ${value}`);
  return value;
};

const rate = (name: string, v: number | undefined): number => {
  const value = v ?? 0;
  if (!(value >= 0 && value <= 1)) throw new Error(`simulator ${name} must be between 0 and 1, got ${value}`);
  return value;
};

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const speed = options.speedGiBPerSecond ?? DEFAULT_SPEED_GIB_PER_SECOND;
  if (!(speed > 0)) throw new Error(`simulator speedGiBPerSecond must be positive, got ${speed}`);
  const accountId = options.accountId ?? '123456789012';
  const now = options.now ?? Date.now;
  const logger = options.logger;

  const rt = createRuntime({
    accountId,
    now,
    random: options.random ?? Math.random,
    config: {
      speedGiBPerSecond: speed,
      throttleRate: rate('throttleRate', options.throttleRate),
      failRate: rate('failRate', options.failRate),
      blockPublicAccess: options.blockPublicAccess ?? false,
      tokenBucket: options.tokenBucket ?? false,
      maxConcurrentCopies: copyLimit(options.maxConcurrentCopies),
    },
    regions: options.statePath ? readState(options.statePath) : undefined,
  });

  const statePath = options.statePath;
  const saver: Saver | undefined = statePath
    ? createSaver({
        path: statePath,
        accountId,
        regions: () => rt.regions,
        now,
        onError: (err) => logger?.warn({ err, statePath }, 'could not save simulator state'),
      })
    : undefined;

  const stats = createStats(now);
  const throttle = createThrottle(rt);
  const server = createSimulatorServer({ rt, stats, throttle, logger, onMutation: () => saver?.schedule() });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  logger?.info({ url, statePath: statePath ?? null, speedGiBPerSecond: speed }, 'EC2 simulator started');

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    accountId,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // SDK clients keep connections alive; without this, close() waits for them to time out.
          server.closeAllConnections();
        });
        await saver?.flush();
      })();
      return stopping;
    },
  };
}
