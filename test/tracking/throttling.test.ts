// EC2 throttles 30% of all calls (the standalone simulator's --throttle-rate): several concurrent
// creations, with copies, all still complete, one AMI each, and the server logs no error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiCreationsDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { tagMap } from '../support/harness.js';
import { sleep, startServerProcess, startSimulatorProcess, type ServerProcess, type SimulatorProcess } from './processes.js';

let sim: SimulatorProcess;
let server: ServerProcess;
let dir: string;

beforeAll(async () => {
  sim = await startSimulatorProcess(['--speed', '20', '--throttle-rate', '0.3']);
  dir = mkdtempSync(join(tmpdir(), 'prism-throttle-'));
  server = await startServerProcess({ simulatorUrl: sim.url, databasePath: join(dir, 'prism.db'), pollIntervalMs: 150 });
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('tracking while EC2 throttles 30% of calls', () => {
  it('completes every one of several concurrent creations with exactly one AMI each and no server error', async () => {
    const requests = [
      { instance: 'demo-workstation', name: 'throttled 1', copyToRegions: ['us-west-2'] },
      { instance: 'demo-workstation', name: 'throttled 2', copyToRegions: [] },
      { instance: 'teaching-env', name: 'throttled 3', copyToRegions: ['us-west-2', 'eu-west-1'] },
      { instance: 'teaching-env', name: 'throttled 4', copyToRegions: [] },
      { instance: 'demo-workstation', name: 'throttled 5', copyToRegions: ['eu-west-1'] },
      { instance: 'teaching-env', name: 'throttled 6', copyToRegions: [] },
    ];
    // A client retries a throttled createAmi with the same idempotency key, as clients should.
    const ids = await Promise.all(
      requests.map(async (input, i) => {
        for (let attempt = 0; ; attempt++) {
          const res = await server.gql(CreateAmiDocument, {
            input: { ...input, noReboot: true, idempotencyKey: `throttle-${i}` },
          });
          if (res.createAmi.__typename === 'CreateAmiSuccess') return res.createAmi.creation.id;
          if (res.createAmi.code !== 'EC2_ERROR' || attempt >= 5)
            throw new Error(`createAmi failed: ${JSON.stringify(res.createAmi)}`);
          await sleep(200);
        }
      }),
    );

    let nodes: { id: string; status: string; failureReason: string | null }[] = [];
    const deadline = Date.now() + 70_000;
    for (;;) {
      try {
        const page = await server.gql(AmiCreationsDocument, { first: 50 });
        nodes = page.amiCreations.edges.map((e) => e.node);
      } catch {
        // a throttled answer surfaces only as a retry later
      }
      if (nodes.length === ids.length && nodes.every((n) => !['PENDING', 'IN_PROGRESS'].includes(n.status))) break;
      if (Date.now() > deadline) throw new Error(`not all creations ended: ${JSON.stringify(nodes)}`);
      await sleep(200);
    }
    expect(
      nodes.map((n) => ({ id: n.id, status: n.status, failureReason: n.failureReason })).sort((x, y) => x.id.localeCompare(y.id)),
    ).toEqual(ids.map((id) => ({ id, status: 'COMPLETED', failureReason: null })).sort((x, y) => x.id.localeCompare(y.id)));

    await sim.configure({ throttleRate: 0 });
    const perCreation = new Map<string, number>();
    for (const region of ['us-east-1', 'us-west-2', 'eu-west-1']) {
      const res = await sim.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }));
      for (const image of res.Images ?? []) {
        const key = `${tagMap(image.Tags)['prism:creation-id']}@${region}`;
        perCreation.set(key, (perCreation.get(key) ?? 0) + 1);
      }
    }
    const expectedImages = requests.reduce((n, r) => n + 1 + r.copyToRegions.length, 0);
    expect([...perCreation.values()].every((n) => n === 1)).toBe(true);
    expect(perCreation.size).toBe(expectedImages);

    const stats = await sim.stats();
    expect(stats.throttled).toBeGreaterThanOrEqual(10);
    const errors = server.logs().filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
    console.info(
      `[tracking] throttling: ${ids.length} creations (${expectedImages} AMIs) completed; ${stats.throttled} of ${stats.total} EC2 calls throttled and absorbed`,
    );
  }, 90_000);
});
