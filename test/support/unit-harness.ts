// Builds the services and the progress tracker for the fast unit tier: real SQLite in memory (with
// the migrations), the in-memory EC2 fake, a manual clock the test moves, and a silent logger.
// Tests drive ticks by hand and read through the services, never through the tracker's insides.
//
// The only import of the tracker in this tier: when it moves, change the path here.
import { pino } from 'pino';
import { openStore } from '../../src/db/store.js';
import { testDatabaseEnv } from './postgres.js';
import { findAmi, type AmiRecord } from '../../src/db/amis.js';
import type { CreationRecord } from '../../src/db/creations.js';
import { createServices } from '../../src/services/index.js';
import type { ServiceDeps } from '../../src/services/context.js';
import { createEventHub, type EventHub } from '../../src/services/events.js';
import { createRegionDirectory } from '../../src/services/regions.js';
import type { CreateAmiRequest } from '../../src/services/validation.js';
import type { Viewer } from '../../src/services/viewer.js';
import { createProgressTracker, type TickReport, type TrackerOptions } from '../../src/services/tracker/index.js';
import { createFakeEc2, type FakeCall, type FakeEc2, type FakeInstanceSpec } from './fake-ec2.js';
import { createFakeSsm, type FakeSsm } from './fake-ssm.js';

export { copyClientToken, type TickReport } from '../../src/services/tracker/index.js';

export const SOURCE_REGION = 'us-east-1';
export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
export const INTERVAL_MS = 1000;
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

export interface ManualClock {
  now: () => number;
  advance: (ms: number) => void;
}

export interface UnitHarness {
  deps: ServiceDeps;
  fake: FakeEc2;
  /** SSM Parameter Store, in memory. */
  ssm: FakeSsm;
  clock: ManualClock;
  services: ReturnType<typeof createServices>;
  viewer: Viewer;
  /** One tick of the tracker, and the EC2 requests it sent. */
  tick(): Promise<{ report: TickReport; calls: FakeCall[] }>;
  /** A new tracker over the same store and EC2, as after a restart: what the old one held in memory is gone. */
  restartTracker(): void;
  /** createAmi on a fresh instance of the viewer's (or `instance`), noReboot unless said otherwise. */
  create(input: Partial<CreateAmiRequest> & { name: string }, instance?: FakeInstanceSpec): Promise<CreationRecord>;
  /** The creation as the service answers it. */
  status(id: string): Promise<CreationRecord>;
  /** The AMI row as the AMI list would show it. */
  ami(amiId: string): Promise<AmiRecord | undefined>;
  /** Subscriptions to creation events still open (a finished watch must release its own). */
  openSubscriptions(): number;
  /** Every value `watch` yields, as they come; `ended()` waits (a second at most) for the subscription to complete. */
  watch(id: string): Promise<{ values: CreationRecord[]; ended: () => Promise<void> }>;
  close(): Promise<void>;
}

export const OWNER_TAG = 'prism:owner';

/** The fake instance's tags that make it `user`'s under the default owner tag. */
export const ownedBy = (user: string) => [{ key: OWNER_TAG, value: user }];

export async function createUnitHarness(
  options: {
    tracker?: Partial<TrackerOptions>;
    access?: Partial<ServiceDeps['access']>;
    maxActiveCreationsPerUser?: number;
  } = {},
): Promise<UnitHarness> {
  let t = T0;
  const clock: ManualClock = {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
  const database = await testDatabaseEnv();
  const store = await openStore({ databaseUrl: database.env.DATABASE_URL, databasePath: ':memory:' });
  const logger = pino({ level: 'silent' });
  const fake = createFakeEc2({ now: clock.now, regions: REGIONS, defaultRegion: SOURCE_REGION });
  const ssm = createFakeSsm();
  const counted = countingHub(createEventHub<CreationRecord>());
  const deps: ServiceDeps = {
    db: store,
    ec2: fake,
    ssm,
    events: counted.hub,
    regions: createRegionDirectory({ ec2: fake, logger, now: clock.now }),
    clock,
    logger,
    sourceRegion: SOURCE_REGION,
    inFlight: new Set(),
    access: { mode: 'owner', ownerTag: OWNER_TAG, ...options.access },
    limits: { maxActiveCreationsPerUser: options.maxActiveCreationsPerUser ?? 50 },
  };
  const services = createServices(deps, { version: 'test', backend: 'simulator' });
  const newTracker = () => createProgressTracker(deps, { intervalMs: INTERVAL_MS, ...options.tracker });
  let tracker = newTracker();
  const viewer: Viewer = { user: 'tester' };
  const subscriptions: AsyncIterableIterator<CreationRecord>[] = [];

  async function status(id: string): Promise<CreationRecord> {
    const record = await services.creations.status(viewer, id);
    if (!record) throw new Error(`no creation ${id}`);
    return record;
  }

  return {
    deps,
    fake,
    ssm,
    clock,
    services,
    viewer,
    status,
    ami: (amiId) => findAmi(store, amiId),
    openSubscriptions: () => counted.open(),

    restartTracker() {
      tracker = newTracker();
    },

    async tick() {
      const mark = fake.calls.length;
      const report = await tracker.runOnce();
      return { report, calls: fake.callsSince(mark) };
    },

    async create(input, instance) {
      const owned = { ...instance, tags: [{ key: deps.access.ownerTag, value: viewer.user }, ...(instance?.tags ?? [])] };
      const instanceId = input.instance ?? fake.addInstance(owned);
      return services.creations.create(viewer, { noReboot: true, ...input, instance: instanceId });
    },

    async watch(id) {
      const updates = services.creations.watch(viewer, id);
      subscriptions.push(updates);
      const values: CreationRecord[] = [];
      // The first value is read here, so the subscription exists before the test moves on.
      const first = await updates.next();
      if (!first.done) values.push(first.value);
      const consumed = (async () => {
        for await (const value of updates) values.push(value);
      })();
      // Ticks are awaited before this is, so a subscription that should have ended has ended: fail
      // within a second rather than at the test timeout.
      const ended = async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the subscription to ${id} did not end (${values.length} values)`)), 1000);
        });
        try {
          await Promise.race([consumed, late]);
        } finally {
          clearTimeout(timer);
        }
      };
      return { values, ended };
    },

    async close() {
      // A subscription a failed test left open must not outlive the database.
      for (const s of subscriptions) void s.return?.(undefined);
      await store.close();
      await database.drop();
    },
  };
}

/** An event hub that counts the subscriptions still open, so tests see a watch release its own. */
function countingHub<T>(hub: EventHub<T>): { hub: EventHub<T>; open: () => number } {
  let open = 0;
  return {
    open: () => open,
    hub: {
      publish: (topic, value) => hub.publish(topic, value),
      subscribe(topic, options) {
        const inner = hub.subscribe(topic, options);
        open++;
        let closed = false;
        const close = () => {
          if (!closed) open--;
          closed = true;
        };
        const iterator: AsyncIterableIterator<T> = {
          async next() {
            const result = await inner.next();
            if (result.done) close();
            return result;
          },
          async return(value?: unknown) {
            close();
            return (await inner.return?.(value)) ?? { value: undefined, done: true };
          },
          async throw(err?: unknown) {
            close();
            return (await inner.throw?.(err)) ?? { value: undefined, done: true };
          },
          [Symbol.asyncIterator]: () => iterator,
        };
        return iterator;
      },
    },
  };
}
