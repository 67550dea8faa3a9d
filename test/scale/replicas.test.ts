// Three prism-ami replicas as real processes on one PostgreSQL database and one Redis prefix,
// behind one simulator process (DESIGN §9): they start together on an empty database, a createAmi
// raced on all three makes one creation and one image, a subscriber on one replica sees what
// another tracks, and when the tracker lease's holder is killed -9 the survivors finish the work.
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  CreateAmiDocument,
  ServerInfoDocument,
  type AmiProgressSubscription,
  type CreateAmiMutationVariables,
} from '../../src/generated/graphql/graphql.js';
import { cleanEnv, runCli } from '../cli/run-cli.js';
import { tagMap } from '../support/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { REDIS_URL, redisFixture, type RedisFixture } from '../support/redis.js';
import { createToken, startReplicas, type Replica, type Subscription } from '../support/replicas.js';
import { sleep, startSimulatorProcess, type SimulatorProcess } from '../tracking/processes.js';

const SHIPPED_MIGRATIONS = (
  JSON.parse(readFileSync(new URL('../../drizzle/postgres/meta/_journal.json', import.meta.url), 'utf8')) as {
    entries: unknown[];
  }
).entries.length;

let sim: SimulatorProcess;
let db: TestDatabase;
let bus: RedisFixture;
let admin: pg.Client;
let replicas: Replica[] = [];
let token: string;

beforeAll(async () => {
  // 8 GiB/s: demo-workstation's 30 GiB snapshot takes about 4 s.
  [sim, db] = await Promise.all([startSimulatorProcess(['--speed', '8']), createTestDatabase()]);
  bus = redisFixture();
  admin = new pg.Client({ connectionString: db.url, application_name: 'replicas test admin' });
  await admin.connect();
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill('SIGKILL')));
  await admin?.end();
  await Promise.all([sim?.stop(), db?.drop(), bus?.cleanup()]);
});

type Progress = AmiProgressSubscription['amiProgress'];
const done = (e: AmiProgressSubscription) => e.amiProgress.status === 'COMPLETED';

async function imagesOf(creationId: string): Promise<string[]> {
  const res = await sim.ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
  return (res.Images ?? []).filter((i) => tagMap(i.Tags)['prism:creation-id'] === creationId).map((i) => i.ImageId!);
}

async function create(r: Replica, input: CreateAmiMutationVariables['input']): Promise<string> {
  const res = await r.gql(CreateAmiDocument, { input }, token);
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(res.createAmi)}`);
  return res.createAmi.creation.id;
}

/** The replicas holding a tracker lease now, from PostgreSQL's view of advisory locks. */
async function trackerHolders(): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT DISTINCT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
       AND a.application_name LIKE 'prism-ami tracker %'`,
  );
  return rows.map((r) => r.name.replace('prism-ami tracker ', '')).sort();
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('replicas on PostgreSQL and Redis', () => {
  it('start together on an empty database: migrated once, all ready on postgres and redis', async () => {
    const t0 = Date.now();
    replicas = await startReplicas(3, { simulatorUrl: sim.url, databaseUrl: db.url, redisUrl: REDIS_URL, keyPrefix: bus.prefix });
    const startMs = Date.now() - t0;
    const { rows } = await admin.query<{ n: string; distinct: string }>(
      'SELECT count(*) AS n, count(DISTINCT hash) AS distinct FROM drizzle.__drizzle_migrations',
    );
    expect(rows[0]).toEqual({ n: String(SHIPPED_MIGRATIONS), distinct: String(SHIPPED_MIGRATIONS) });
    for (const r of replicas) {
      const ready = await waitFor(`${r.id} to be ready`, async () => {
        const res = await r.ready();
        return res.status === 200 ? res : undefined;
      });
      expect(ready.body.checks.database).toMatchObject({ ok: true, engine: 'postgres', migrations: SHIPPED_MIGRATIONS });
      expect(ready.body.checks.eventBus).toMatchObject({ ok: true, kind: 'redis' });
      expect(r.logs().some((l) => /Redis \(replicas share them\) as replica-\d/.test(l.msg))).toBe(true);
    }
    token = await createToken(db.url, 'alice', { admin: true });
    console.info(`[scale] 3 replicas started together in ${startMs} ms; ${SHIPPED_MIGRATIONS} migrations applied once`);
  });

  it('makes one creation and one image for the same createAmi sent to the three replicas at once', async () => {
    const input = { instance: 'demo-workstation', name: 'raced on three replicas', noReboot: true, idempotencyKey: 'race-1' };
    const ids = await Promise.all(replicas.map((r) => create(r, input)));
    expect(new Set(ids).size).toBe(1);
    const sub = replicas[1]!.subscribe(AmiProgressDocument, { id: ids[0]! }, token);
    try {
      await sub.until(done, 30_000);
    } finally {
      await sub.dispose();
    }
    expect(await imagesOf(ids[0]!)).toHaveLength(1);
  });

  it('tells a subscriber on replica B the progress of a creation made on replica A and tracked by the lease holder', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const id = await create(a, { instance: 'demo-workstation', name: 'made on A and watched on B', noReboot: true });
    const sub = b.subscribe(AmiProgressDocument, { id }, token);
    try {
      const last = await sub.until(done, 30_000);
      const progress = sub.events.map((e) => e.amiProgress.progress);
      expect(progress).toEqual([...progress].sort((x, y) => x - y));
      expect(new Set(progress).size).toBeGreaterThan(2);
      expect(last.amiProgress.amiId).toMatch(/^ami-/);
    } finally {
      await sub.dispose();
    }
    const holders = await trackerHolders();
    expect(holders).toHaveLength(1);
    console.info(`[scale] made on ${a.id}, watched on ${b.id}, tracked by ${holders[0]}`);
  });

  it('finishes a creation once when the tracker lease holder is killed -9 mid-creation; survivors tell their subscribers', async () => {
    const id = await create(replicas[0]!, { instance: 'demo-workstation', name: 'survives its tracker', noReboot: true });
    const holderId = await waitFor('a tracker lease holder', async () => (await trackerHolders())[0]);
    const holder = replicas.find((r) => r.id === holderId)!;
    const survivors = replicas.filter((r) => r !== holder);
    const subs: Subscription<AmiProgressSubscription>[] = survivors.map((r) => r.subscribe(AmiProgressDocument, { id }, token));
    try {
      await subs[0]!.until((e) => e.amiProgress.stage === 'SNAPSHOTTING' && e.amiProgress.progress > 5);
      const before: Progress = subs[0]!.events.at(-1)!.amiProgress;
      const killedAt = Date.now();
      await holder.kill('SIGKILL');
      const next = await subs[0]!.until((e) => e.amiProgress.progress > before.progress || done(e));
      const failoverMs = Date.now() - killedAt;
      const finals = await Promise.all(subs.map((s) => s.until(done, 30_000)));
      for (const f of finals) expect(f.amiProgress.amiId).toMatch(/^ami-/);
      const newHolders = await trackerHolders();
      expect(newHolders).toHaveLength(1);
      expect(newHolders[0]).not.toBe(holderId);
      expect(await imagesOf(id)).toHaveLength(1);
      expect(failoverMs).toBeLessThan(10_000);
      console.info(
        `[scale] failover: killed ${holderId} at ${before.progress}%; ${newHolders[0]} tracked again ${failoverMs} ms later (${next.amiProgress.progress}%)`,
      );
    } finally {
      await Promise.all(subs.map((s) => s.dispose()));
    }
    replicas = survivors;
  });

  it('prism-ami token create --user works against DATABASE_URL, and the replicas accept the token', async () => {
    const created = await runCli(['token', 'create', '--user', 'carol'], { env: cleanEnv({ DATABASE_URL: db.url }) });
    expect(created.code, created.stderr).toBe(0);
    const cliToken = created.stdout.trim().split('\n').at(-1)!;
    expect(cliToken).toMatch(/^pam_/);
    for (const r of replicas) expect((await r.gql(ServerInfoDocument, {}, cliToken)).viewer.user).toBe('carol');
  });
});
