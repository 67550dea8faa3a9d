// A replica when PostgreSQL or Redis is missing or goes away (DESIGN §9): it refuses to start with
// one sentence naming the variable, and when either is lost mid-creation it says so on /ready,
// tells its subscribers, answers queries with an error instead of hanging, stays alive, and once
// the service is back it is ready again and finishes the creation with one image. The shared
// PostgreSQL and Redis are never stopped: Redis is a private redis-server of this file, and
// PostgreSQL is reached through a TCP proxy that the test cuts and restores.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  AmiProgressDocument,
  CreateAmiDocument,
  type AmiProgressSubscription,
} from '../../src/generated/graphql/graphql.js';
import { tagMap } from '../support/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { REDIS_URL, redisFixture, type RedisFixture } from '../support/redis.js';
import { createToken, replicaEnv, startReplicas, type Replica, type ReplicaOptions } from '../support/replicas.js';
import { sleep, startSimulatorProcess, type SimulatorProcess } from '../tracking/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let sim: SimulatorProcess;
let db: TestDatabase;
let bus: RedisFixture;
let token: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [sim, db] = await Promise.all([startSimulatorProcess(['--speed', '8']), createTestDatabase()]);
  bus = redisFixture();
  token = await createToken(db.url, 'alice', { admin: true });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await Promise.all([sim?.stop(), db?.drop(), bus?.cleanup()]);
});

const options = (patch: Partial<ReplicaOptions> = {}): ReplicaOptions => ({
  simulatorUrl: sim.url,
  databaseUrl: db.url,
  redisUrl: REDIS_URL,
  keyPrefix: bus.prefix,
  ...patch,
});

/**
 * One replica on the file's database. Each test stops its own at its end: one left running would
 * keep the tracker lease and track the next test's creation, telling another event bus.
 */
async function startOne(patch: Partial<ReplicaOptions>): Promise<Replica> {
  const [r] = await startReplicas(1, options(patch));
  cleanups.push(() => r!.kill('SIGKILL'));
  await until('the replica to be ready', async () => (await r!.ready()).status === 200);
  return r!;
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function imagesOf(creationId: string): Promise<number> {
  const res = await sim.ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
  return (res.Images ?? []).filter((i) => tagMap(i.Tags)['prism:creation-id'] === creationId).length;
}

/** A creation under way on `r`, with a graphql-ws subscriber on it that has seen it snapshotting. */
async function creationUnderWay(r: Replica, name: string) {
  const res = await r.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name, noReboot: true } }, token);
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(res.createAmi)}`);
  const id = res.createAmi.creation.id;
  const sub = r.subscribe(AmiProgressDocument, { id }, token);
  cleanups.push(() => sub.dispose());
  await sub.until((e) => e.amiProgress.stage === 'SNAPSHOTTING' && e.amiProgress.progress > 3);
  // EC2 nearly stands still during the outage, so the creation is still under way when it ends.
  await sim.configure({ speed: 0.05 });
  return { id, sub };
}

/** After the outage: EC2 at full speed, the creation COMPLETED (seen by a new subscriber), and one image. */
async function completesOnce(r: Replica, id: string): Promise<void> {
  await sim.configure({ speed: 8 });
  const sub = r.subscribe(AmiProgressDocument, { id }, token);
  try {
    const last = await sub.until((e: AmiProgressSubscription) => e.amiProgress.status === 'COMPLETED', 30_000);
    expect(last.amiProgress.amiId).toMatch(/^ami-/);
  } finally {
    await sub.dispose();
  }
  const { amiCreation } = await r.gql(AmiCreationDocument, { id }, token);
  expect(amiCreation?.status).toBe('COMPLETED');
  expect(await imagesOf(id)).toBe(1);
}

/** main.ts run to its exit with `env`: the exit code and what it wrote. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('replica start-up without its PostgreSQL or Redis', () => {
  const cases: [string, string, () => Partial<ReplicaOptions>][] = [
    ['DATABASE_URL', 'unreachable', () => ({ databaseUrl: 'postgres://postgres@127.0.0.1:1/x' })],
    ['DATABASE_URL', 'malformed', () => ({ databaseUrl: 'postgres//127.0.0.1/x' })],
    ['REDIS_URL', 'unreachable', () => ({ redisUrl: 'redis://127.0.0.1:1' })],
    ['REDIS_URL', 'malformed', () => ({ redisUrl: 'http://127.0.0.1:6379' })],
  ];
  it.each(cases)('exits non-zero with one message naming %s when it is %s', async (variable, _how, patch) => {
    const t0 = Date.now();
    const { code, stderr, stdout } = await runToExit(replicaEnv(0, options(patch())));
    const ms = Date.now() - t0;
    expect(code, stderr).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toContain(variable);
    // One message: the variable named once, no stack trace, no cause dump, nothing else said.
    expect(stderr.split(variable).length - 1, stderr).toBe(1);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('[cause]');
    expect(stderr.trim().split('\n')[0]).toMatch(/^prism-ami: /);
    expect(stdout).not.toMatch(/listening on/);
    console.info(`[faults] ${variable} ${_how}: exit ${code} after ${ms} ms: ${stderr.trim().split('\n').join(' ')}`);
  });
});

describe('losing Redis mid-creation', () => {
  it('turns /ready 503 and tells the subscriber; once Redis is back, /ready is 200 and the creation completes once', async () => {
    const port = await freePort();
    let redis: ChildProcess | undefined;
    const startRedis = async () => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('Ready to accept connections')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
      });
      redis = child;
    };
    const killRedis = async () => {
      const child = redis;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    cleanups.push(killRedis);
    await startRedis();
    const r = await startOne({ redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: `test-${randomUUID()}:` });
    const { id, sub } = await creationUnderWay(r, 'through a Redis outage');

    const lostAt = Date.now();
    await killRedis();
    const ended = await Promise.race([sub.ended, sleep(5_000).then(() => undefined)]);
    const toldMs = Date.now() - lostAt;
    expect(ended, 'the subscriber is told within 5 s').toBeDefined();
    expect(ended!.error).toBeDefined();
    expect(describeEnd(ended!.error)).toMatch(/event bus/i);
    let report: Awaited<ReturnType<Replica['ready']>> | undefined;
    const notReadyMs = await until('/ready to turn 503', async () => {
      report = await r.ready();
      return report.status === 503;
    });
    expect(report!.body.checks.eventBus).toMatchObject({ ok: false, kind: 'redis' });
    expect(report!.body.reason).toMatch(/eventBus/);
    expect(report!.body.checks.database.ok).toBe(true);
    expect(r.alive()).toBe(true);

    const backAt = Date.now();
    await startRedis();
    const readyMs = await until('/ready to be 200 again', async () => (await r.ready()).status === 200);
    await completesOnce(r, id);
    expect(r.alive()).toBe(true);
    console.info(
      `[faults] Redis lost: subscriber told in ${toldMs} ms (${describeEnd(ended!.error)}), /ready 503 after ${notReadyMs} ms; ` +
        `Redis back: /ready 200 after ${readyMs} ms, creation completed once ${Date.now() - backAt} ms after`,
    );
    await r.kill('SIGTERM');
  }, 60_000);
});

/** A TCP proxy to PostgreSQL on a port of its own, which the test can cut (listener closed, sockets destroyed) and restore. */
function postgresProxy(port: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  return {
    async up() {
      server = createServer((client) => {
        const upstream = connect(5432, '127.0.0.1');
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async down() {
      const s = server;
      server = undefined;
      const closed = s ? new Promise((resolve) => s.close(resolve)) : Promise.resolve();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe('losing PostgreSQL mid-creation', () => {
  it('turns /ready 503 naming the database, fails queries quickly, stays alive, and completes the creation once when it is back', async () => {
    const port = await freePort();
    const proxy = postgresProxy(port);
    cleanups.push(() => proxy.down());
    await proxy.up();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(port);
    const r = await startOne({ databaseUrl: viaProxy.toString(), keyPrefix: `test-${randomUUID()}:` });
    const { id } = await creationUnderWay(r, 'through a PostgreSQL outage');

    await proxy.down();
    let report: Awaited<ReturnType<Replica['ready']>> | undefined;
    const notReadyMs = await until('/ready to turn 503', async () => {
      report = await r.ready();
      return report.status === 503;
    });
    expect(report!.body.checks.database.ok).toBe(false);
    expect(report!.body.reason).toMatch(/database/);

    const asked = Date.now();
    const answer = await r.gql(AmiCreationDocument, { id }, token).then(
      () => 'answered',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    const errorMs = Date.now() - asked;
    expect(answer).toMatch(/database is unavailable/);
    expect(errorMs).toBeLessThan(10_000);
    await sleep(500);
    expect(r.alive()).toBe(true);

    const backAt = Date.now();
    await proxy.up();
    const readyMs = await until('/ready to be 200 again', async () => (await r.ready()).status === 200);
    await completesOnce(r, id);
    expect(r.alive()).toBe(true);
    console.info(
      `[faults] PostgreSQL lost: /ready 503 after ${notReadyMs} ms (${report!.body.checks.database.detail}); ` +
        `a query failed in ${errorMs} ms (${answer.slice(0, 160)}); back: /ready 200 after ${readyMs} ms (completed once ${Date.now() - backAt} ms after)`,
    );
    await r.kill('SIGTERM');
  }, 60_000);
});

function describeEnd(error: unknown): string {
  const e = error as { code?: number; reason?: string; message?: string };
  if (typeof e?.code === 'number') return `socket closed ${e.code} ${e.reason ?? ''}`.trim();
  if (Array.isArray(error)) return (error as { message: string }[]).map((x) => x.message).join('; ');
  return e?.message ?? String(error);
}
