// GET /ready against moto behind a TCP relay: ready while EC2 answers, 503 with a JSON reason
// while moto is down, ready again once a new moto answers; and the database check.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';
import { baseOf, closeDatabase } from './support.js';

/** A fixed address for the app's EC2 endpoint whose upstream (a moto) can be swapped. */
async function startRelay(target: string): Promise<{ url: string; retarget(url: string): void; close(): Promise<void> }> {
  let upstream = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(up);
    client.pipe(up).pipe(client);
    const end = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    retarget(url) {
      upstream = new URL(url);
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface ReadyBody {
  status: string;
  reason?: string;
  checks: Record<string, { ok: boolean; detail?: string; lastError?: string }>;
}

async function ready(base: string): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(new URL('/ready', base));
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

describe('GET /ready', () => {
  let moto: Moto;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    moto = await startMoto();
    relay = await startRelay(moto.url);
    t = await startTestApp(
      { EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: relay.url },
      // An EC2 answer counts for 300 ms here (60 s in production), probes at most every 100 ms.
      { readiness: { ec2MaxAgeMs: 300, probeEveryMs: 100, probeWaitMs: 3_000 } },
    );
    base = baseOf(t.url);
  });
  afterAll(async () => {
    await t?.stop();
    await relay?.close();
    await moto?.stop();
  });

  it('is 200 once the database, the tracker and the EC2 endpoint are fine', async () => {
    // Right after start moto may still be answering its first call: "not yet" is a fair answer then.
    const r = await eventually(async () => {
      const answer = await ready(base);
      return answer.status === 200 ? answer : undefined;
    }, 15_000);
    expect(r.body.status).toBe('ready');
    expect(Object.values(r.body.checks).every((c) => c.ok)).toBe(true);
    // Liveness does not depend on EC2.
    expect((await fetch(new URL('/health', base))).status).toBe(200);
  });

  it('is 503 with a JSON reason while moto is down, and 200 again once EC2 answers', async () => {
    await moto.stop();
    relay.retarget(moto.url); // drop kept-alive connections to the old moto
    const down = await eventually(async () => {
      const r = await ready(base);
      return r.status === 503 ? r : undefined;
    }, 15_000);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.ec2!.ok).toBe(false);
    expect(down.body.checks.database!.ok).toBe(true);
    expect(down.body.reason).toMatch(/^ec2: /);
    expect((await fetch(new URL('/health', base))).status).toBe(200);

    moto = await startMoto();
    relay.retarget(moto.url);
    const back = await eventually(async () => {
      const r = await ready(base);
      return r.status === 200 ? r : undefined;
    }, 15_000);
    expect(back.body.status).toBe('ready');
  });

  it('is 503 naming the database when SQLite is closed', async () => {
    await closeDatabase(t.app);
    const r = await ready(base);
    expect(r.status).toBe(503);
    expect(r.body.checks.database?.ok).toBe(false);
    expect(r.body.checks.database?.detail).toContain('the database is closed');
  });
});
