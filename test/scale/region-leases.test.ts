// Region leases on a real PostgreSQL: of the replicas sharing one database, one polls each region
// per loop; when the holder's connection dies another takes the region at its next holds(), and
// withAdvisoryLock runs concurrent callers one after the other.
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgRegionLeases, withAdvisoryLock, type LeaseScope, type PgRegionLeases } from '../../src/db/region-leases.js';
import type { RegionLeases } from '../../src/services/region-leases.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createUnitHarness } from '../support/unit-harness.js';

let db: TestDatabase;
let admin: pg.Client;
const open: PgRegionLeases[] = [];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url, application_name: 'lease test admin' });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

/** A replica's lease set, named in pg_stat_activity so the test can find its backend. */
function replica(name: string, scope: LeaseScope = 'tracker', log = logger): PgRegionLeases {
  const leases = createPgRegionLeases({ connectionString: db.url, scope, logger: log, applicationName: name });
  open.push(leases);
  return leases;
}

async function backendPid(applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
    [applicationName],
  );
  expect(rows, `one backend named ${applicationName}`).toHaveLength(1);
  return rows[0]!.pid;
}

/** Ends the backend as a crash would end its process's connection, and waits until it is gone. */
async function terminate(applicationName: string): Promise<void> {
  const pid = await backendPid(applicationName);
  const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, 5000) AS ok', [pid]);
  expect(rows[0]?.ok).toBe(true);
}

describe('region leases on PostgreSQL', () => {
  it('lets one of two replicas hold a region, and the other not', async () => {
    const a = replica('replica a');
    const b = replica('replica b');
    expect(await a.holds('us-east-1')).toBe(true);
    expect(await b.holds('us-east-1')).toBe(false);
    // Asking again changes nothing, either way.
    expect(await a.holds('us-east-1')).toBe(true);
    expect(await b.holds('us-east-1')).toBe(false);
    expect(a.held()).toEqual(['us-east-1']);
    expect(b.held()).toEqual([]);
  });

  it('lets different replicas hold different regions', async () => {
    const a = replica('replica a');
    const b = replica('replica b');
    expect(await a.holds('us-east-1')).toBe(true);
    expect(await b.holds('eu-west-1')).toBe(true);
    expect(await a.holds('eu-west-1')).toBe(false);
    expect(await b.holds('us-east-1')).toBe(false);
    expect(await b.holds('us-west-2')).toBe(true);
    expect(a.held()).toEqual(['us-east-1']);
    expect(b.held()).toEqual(['eu-west-1', 'us-west-2']);
  });

  it("keeps the tracker's and the reconciler's leases apart", async () => {
    const aTracker = replica('replica a tracker', 'tracker');
    const bTracker = replica('replica b tracker', 'tracker');
    const bReconciler = replica('replica b reconciler', 'reconciler');
    const aReconciler = replica('replica a reconciler', 'reconciler');
    expect(await aTracker.holds('us-east-1')).toBe(true);
    expect(await bReconciler.holds('us-east-1')).toBe(true);
    expect(await bTracker.holds('us-east-1')).toBe(false);
    expect(await aReconciler.holds('us-east-1')).toBe(false);
  });

  it('hands the region to the other replica when the holder’s connection is killed, and not back while it is held', async () => {
    const logged: { level: number; msg: string }[] = [];
    const a = replica(
      'replica a',
      'tracker',
      pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as { level: number; msg: string }) }),
    );
    const b = replica('replica b');
    expect(await a.holds('us-east-1')).toBe(true);
    expect(await a.holds('eu-west-1')).toBe(true);
    expect(await b.holds('us-east-1')).toBe(false);

    const killedAt = performance.now();
    await terminate('replica a');
    const goneAt = performance.now();
    // The next holds() takes it: no expiry to wait for.
    expect(await b.holds('us-east-1')).toBe(true);
    const takeoverMs = performance.now() - killedAt;
    console.info(
      `takeover after pg_terminate_backend: ${takeoverMs.toFixed(1)} ms (${(performance.now() - goneAt).toFixed(1)} ms after the backend was gone)`,
    );
    expect(takeoverMs).toBeLessThan(1000);

    // The killed replica learns of it from its connection and owns nothing any more.
    await vi.waitFor(() => expect(a.held()).toEqual([]), { timeout: 2000 });
    expect(await a.holds('us-east-1')).toBe(false);
    // It is back on a new connection and takes what is free, not what b holds.
    expect(await a.holds('eu-west-1')).toBe(true);
    expect(a.held()).toEqual(['eu-west-1']);
    await backendPid('replica a');
    expect(await a.holds('us-east-1')).toBe(false);
    // Loss and recovery are told once each, however often the loop asks.
    const messages = logged.map((l) => l.msg);
    expect(messages.filter((m) => m.startsWith('lease connection lost'))).toHaveLength(1);
    expect(messages.filter((m) => m === 'lease connection recovered')).toHaveLength(1);

    await b.close();
    expect(await a.holds('us-east-1')).toBe(true);
  });

  it('counts a region asked for twice at once as one lock, given up by one release', async () => {
    const a = replica('replica a');
    const b = replica('replica b');
    expect(await Promise.all([a.holds('us-east-1'), a.holds('us-east-1'), a.holds('us-east-1')])).toEqual([true, true, true]);
    await a.release('us-east-1');
    expect(a.held()).toEqual([]);
    expect(await b.holds('us-east-1')).toBe(true);
    expect(await a.holds('us-east-1')).toBe(false);
  });

  it('gives every region up on close, and holds nothing after', async () => {
    const a = replica('replica a');
    const b = replica('replica b');
    expect(await a.holds('us-east-1')).toBe(true);
    expect(await a.holds('us-west-2')).toBe(true);
    await a.close();
    expect(a.held()).toEqual([]);
    expect(await a.holds('eu-west-1')).toBe(false);
    expect(await b.holds('us-east-1')).toBe(true);
    expect(await b.holds('us-west-2')).toBe(true);
  });

  it('answers "not held" when PostgreSQL cannot be reached, without throwing', async () => {
    const leases: RegionLeases = createPgRegionLeases({
      connectionString: 'postgres://postgres@127.0.0.1:1/postgres',
      scope: 'tracker',
      logger,
      timeoutMs: 1000,
    });
    try {
      expect(await leases.holds('us-east-1')).toBe(false);
      expect(await leases.holds('us-east-1')).toBe(false);
      expect(leases.held()).toEqual([]);
    } finally {
      await leases.close();
    }
    const malformed = createPgRegionLeases({ connectionString: 'postgres://[bad', scope: 'tracker', logger });
    expect(await malformed.holds('us-east-1')).toBe(false);
    await malformed.close();
  });
});

/**
 * A TCP hop to PostgreSQL that can go silent (a partition: nothing arrives, nothing is closed) and
 * then lose its server side (PostgreSQL's own keepalive ending the session).
 */
async function silentNetwork(): Promise<{ url: string; goSilent(): void; serverGivesUp(): void; close(): Promise<void> }> {
  let silent = false;
  const upstreams: Socket[] = [];
  const downstreams: Socket[] = [];
  const target = new URL(db.url);
  const server: Server = createServer((downstream) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    upstreams.push(upstream);
    downstream.on('data', (d) => silent || upstream.write(d));
    upstream.on('data', (d) => silent || downstream.write(d));
    upstream.on('error', () => downstream.destroy());
    downstream.on('error', () => upstream.destroy());
    upstream.on('close', () => silent || downstream.destroy());
    downstream.on('close', () => silent || upstream.destroy());
    downstreams.push(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(db.url);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    goSilent: () => (silent = true),
    serverGivesUp: () => upstreams.forEach((u) => u.destroy()),
    close: () => {
      downstreams.forEach((d) => d.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a replica whose network goes silent', () => {
  it('stops claiming its regions once its keepalive times out, before the server lets another replica take them', async () => {
    const network = await silentNetwork();
    const a = createPgRegionLeases({
      connectionString: network.url,
      scope: 'tracker',
      logger,
      applicationName: 'replica behind a silent network',
      keepaliveMs: 100,
      timeoutMs: 500,
    });
    open.push(a);
    const b = replica('replica b');
    try {
      expect(await a.holds('us-east-1')).toBe(true);
      const silentAt = performance.now();
      network.goSilent();
      // The keepalive notices without being asked: the loop may poll less often than it checks.
      await vi.waitFor(() => expect(a.held()).toEqual([]), { timeout: 3000, interval: 10 });
      const noticedMs = performance.now() - silentAt;
      console.info(`a silent connection noticed after ${noticedMs.toFixed(0)} ms`);
      expect(noticedMs).toBeGreaterThanOrEqual(300);
      expect(await a.holds('us-east-1')).toBe(false);
      // PostgreSQL still has the session: the region is nobody else's yet.
      expect(await b.holds('us-east-1')).toBe(false);
      network.serverGivesUp();
      await vi.waitFor(async () => expect(await b.holds('us-east-1')).toBe(true), { timeout: 5000, interval: 50 });
    } finally {
      await network.close();
    }
  });
});

describe('a replica killed with SIGKILL', () => {
  it('loses its regions to another replica within 3 poll intervals', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./lease-holder.ts', import.meta.url)), db.url, 'tracker', 'us-east-1'],
      { env: { ...process.env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('holding us-east-1')) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void exited.then(() => reject(new Error(`the lease holder exited:\n${output}`)));
      });
      const b = replica('replica b');
      expect(await b.holds('us-east-1')).toBe(false);

      const killedAt = performance.now();
      child.kill('SIGKILL');
      await exited;
      // Ask as a tracker would, once per poll interval.
      const POLL_MS = 250;
      let polls = 0;
      let taken = false;
      while (!taken && polls < 3) {
        if (polls > 0) await new Promise((r) => setTimeout(r, POLL_MS));
        polls++;
        taken = await b.holds('us-east-1');
      }
      const takeoverMs = performance.now() - killedAt;
      console.info(`takeover after SIGKILL: ${takeoverMs.toFixed(1)} ms, at poll ${polls}`);
      expect(taken).toBe(true);
      expect(b.held()).toEqual(['us-east-1']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('a tracker on PostgreSQL leases', () => {
  it('leaves a region to the replica holding it, and takes it over at the tick after that replica is gone', async () => {
    const other = replica('other replica');
    expect(await other.holds('us-east-1')).toBe(true);
    const leases = replica('this replica');
    const h = await createUnitHarness({ tracker: { leases } });
    try {
      const c = await h.create({ name: 'taken over' }, { volumesGiB: [8] });
      h.fake.complete(c.amiId!);
      const idle = await h.tick();
      expect(idle.calls).toEqual([]);
      expect(idle.report).toMatchObject({ creations: 0, leasedRegions: [] });
      expect((await h.status(c.id)).status).toBe('IN_PROGRESS');

      await terminate('other replica');
      h.clock.advance(1000);
      const { report, calls } = await h.tick();
      expect(calls.map((x) => `${x.action} ${x.region}`)).toContain('DescribeImages us-east-1');
      expect(report).toMatchObject({ creations: 1, leasedRegions: ['us-east-1'] });
      expect((await h.status(c.id)).status).toBe('COMPLETED');
    } finally {
      await h.close();
    }
  });
});

describe('withAdvisoryLock', () => {
  it('runs a second caller only after the first has finished', async () => {
    const events: string[] = [];
    let finishFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (finishFirst = resolve));
    let firstStarted!: () => void;
    const firstRunning = new Promise<void>((resolve) => (firstStarted = resolve));

    const first = withAdvisoryLock(
      db.url,
      'migrations',
      async () => {
        events.push('first start');
        firstStarted();
        await firstMayFinish;
        events.push('first end');
        return 1;
      },
      { applicationName: 'first migrator' },
    );
    await firstRunning;
    const second = withAdvisoryLock(
      db.url,
      'migrations',
      async () => {
        events.push('second start');
        return Promise.resolve(2);
      },
      { applicationName: 'second migrator' },
    );
    // The second caller is waiting on the lock in PostgreSQL, not merely slow.
    await vi.waitFor(
      async () => {
        const { rows } = await admin.query<{ wait: string | null }>(
          "SELECT wait_event_type AS wait FROM pg_stat_activity WHERE application_name = 'second migrator'",
        );
        expect(rows).toEqual([{ wait: 'Lock' }]);
      },
      { timeout: 5000 },
    );
    expect(events).toEqual(['first start']);
    finishFirst();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(['first start', 'first end', 'second start']);
  });

  it('gives the lock up when the work throws', async () => {
    await expect(withAdvisoryLock(db.url, 'migrations', () => Promise.reject(new Error('migration failed')))).rejects.toThrow(
      'migration failed',
    );
    const timed = withAdvisoryLock(db.url, 'migrations', () => Promise.resolve('ran'));
    expect(await timed).toBe('ran');
  });

  it('does not block a caller with another key', async () => {
    let release!: () => void;
    const held = withAdvisoryLock(db.url, 'migrations', () => new Promise<void>((resolve) => (release = resolve)));
    try {
      expect(await withAdvisoryLock(db.url, 'something else', () => Promise.resolve('ran'))).toBe('ran');
    } finally {
      await vi.waitFor(() => expect(release).toBeDefined());
      release();
      await held;
    }
  });
});
