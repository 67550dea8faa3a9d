// The server is killed (SIGKILL) mid-creation and restarted on the same database, against the
// standalone simulator: every creation still completes, exactly one AMI exists per creation and
// region, progress never goes back, and a subscriber that reconnects gets the current state at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand, type Image } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/db/sqlite.js';
import { insertCreation } from '../../src/db/creations.js';
import {
  AmiCreationsDocument,
  AmiProgressDocument,
  CreateAmiDocument,
  type CreationFieldsFragment,
} from '../../src/generated/graphql/graphql.js';
import { collectOverSse, tagMap } from '../support/harness.js';
import { sleep, startServerProcess, startSimulatorProcess, type ServerProcess, type SimulatorProcess } from './processes.js';

let sim: SimulatorProcess;
let dir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  // 8 GiB/s: a 30 GiB snapshot takes ~4 s, long enough to kill the server in the middle of it.
  sim = await startSimulatorProcess(['--speed', '8']);
  dir = mkdtempSync(join(tmpdir(), 'prism-restart-'));
});

afterAll(async () => {
  await server?.kill('SIGTERM');
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

async function ownImages(): Promise<Map<string, Image[]>> {
  const out = new Map<string, Image[]>();
  for (const region of REGIONS) {
    const res = await sim.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }));
    out.set(region, res.Images ?? []);
  }
  return out;
}

async function instanceId(name: string): Promise<string> {
  const res = await sim.ec2().send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  return res.Reservations![0]!.Instances![0]!.InstanceId!;
}

/** Rows as createAmi writes them before CreateImage, for a server that died before learning the AMI id. */
async function craftOrphan(
  dbPath: string,
  row: { id: string; name: string; instanceId: string; sizeGiB: number; requestedAgoMs: number },
): Promise<void> {
  const database = openSqliteStore(dbPath);
  const now = Date.now();
  await insertCreation(
    database,
    {
      id: row.id,
      owner: 'local',
      idempotencyKey: null,
      name: row.name,
      description: null,
      templateName: null,
      instanceId: row.instanceId,
      sourceRegion: 'us-east-1',
      architecture: 'x86_64',
      status: 'PENDING',
      stage: 'VALIDATING',
      progress: 0,
      message: 'Requesting an image',
      noReboot: true,
      public: false,
      shareAccounts: [],
      sizeGiB: row.sizeGiB,
      snapshotIds: [],
      imageRequestedAt: now - row.requestedAgoMs,
      createdAt: now - row.requestedAgoMs,
      updatedAt: now - row.requestedAgoMs,
    },
    [],
    [],
  );
  await database.close();
}

describe('tracking across server crashes', () => {
  it('completes every creation with exactly one AMI per creation and region after SIGKILLs during snapshots and copies', async () => {
    const dbPath = join(dir, 'prism.db');
    const baseline = await ownImages();

    // Two creations whose server died between recording them and learning the AMI id: one whose
    // CreateImage reached EC2 (the image exists, tagged), one whose request never left.
    const teaching = await instanceId('teaching-env');
    const landed = {
      id: '00000000-0000-4000-8000-00000000000a',
      name: 'crashed after CreateImage',
      instanceId: teaching,
      sizeGiB: 16,
      requestedAgoMs: 5_000,
    };
    const lost = {
      id: '00000000-0000-4000-8000-00000000000b',
      name: 'crashed before CreateImage',
      instanceId: teaching,
      sizeGiB: 16,
      requestedAgoMs: 60_000,
    };
    await craftOrphan(dbPath, landed);
    await craftOrphan(dbPath, lost);
    await sim.ec2().send(
      new CreateImageCommand({
        InstanceId: teaching,
        Name: landed.name,
        NoReboot: true,
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'prism:creation-id', Value: landed.id }] }],
      }),
    );

    server = await startServerProcess({ simulatorUrl: sim.url, databasePath: dbPath });
    const create = async (instance: string, name: string, copyToRegions: string[]) => {
      const res = await server!.gql(CreateAmiDocument, { input: { instance, name, noReboot: true, copyToRegions } });
      if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(res.createAmi)}`);
      return res.createAmi.creation.id;
    };
    const a = await create('demo-workstation', 'restart a', ['us-west-2', 'eu-west-1']);
    const b = await create('teaching-env', 'restart b', ['us-west-2']);
    const c = await create('demo-workstation', 'restart c', []);
    const ids = [a, b, c, landed.id, lost.id];

    // Follow every creation over HTTP the whole time, across the kills.
    const seen = new Map<string, CreationFieldsFragment[]>(ids.map((id) => [id, []]));
    let latest = new Map<string, CreationFieldsFragment>();
    let following = true;
    const follow = (async () => {
      while (following) {
        try {
          const page = await server.gql(AmiCreationsDocument, { first: 50 });
          latest = new Map(page.amiCreations.edges.map((e) => [e.node.id, e.node]));
          for (const [id, node] of latest) seen.get(id)?.push(node);
        } catch {
          // the server is down between a kill and its restart
        }
        await sleep(80);
      }
    })();
    const until = async (what: string, check: () => boolean, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}: ${JSON.stringify([...latest.values()].map((n) => [n.name, n.stage, n.progress]))}`,
          );
        await sleep(40);
      }
    };
    // EC2 is nearly frozen while the server is down, so each kill point holds however slow the
    // machine is; snapshots resume from where they were.
    const restart = async (speedAfter: number) => {
      await sim.configure({ speed: 0.01 });
      await server!.kill('SIGKILL');
      await sleep(300);
      server = await startServerProcess({ simulatorUrl: sim.url, databasePath: dbPath });
      await sim.configure({ speed: speedAfter });
    };
    const copying = () => latest.get(a)?.regions.filter((r) => r.amiId && r.status === 'IN_PROGRESS') ?? [];

    let kills = 0;
    await until('a to be snapshotting', () => {
      const n = latest.get(a);
      return n?.stage === 'SNAPSHOTTING' && n.progress > 3;
    });
    await restart(8);
    kills++;
    // Slow down near the end of a's snapshot so that its copies (made at this speed) last a while.
    await until('a to be nearly snapshotted', () => (latest.get(a)?.progress ?? 0) >= 25);
    await sim.configure({ speed: 2 });
    await until('a copy to be under way', () => copying().length > 0);
    await restart(2);
    kills++;
    await until('a copy to have progressed', () => copying().some((r) => r.progress > 0));
    await restart(20);
    kills++;

    // A subscriber that reconnects gets the current state at once, then every change to the end.
    const before = latest.get(a)!.progress;
    const events = await collectOverSse(
      server.url,
      AmiProgressDocument,
      { id: a },
      {
        timeoutMs: 30_000,
        headers: { authorization: `Bearer ${server.token ?? ''}` },
      },
    );
    expect(events[0]!.amiProgress.progress).toBeGreaterThanOrEqual(before);
    expect(events.at(-1)!.amiProgress.status).toBe('COMPLETED');

    await until(
      'every creation to end',
      () => ids.every((id) => ['COMPLETED', 'PARTIALLY_COMPLETED', 'FAILED', 'CANCELLED'].includes(latest.get(id)?.status ?? '')),
      30_000,
    );
    following = false;
    await follow;

    for (const id of ids) expect({ id, status: latest.get(id)!.status }).toEqual({ id, status: 'COMPLETED' });
    for (const [id, history] of seen) {
      const progress = history.map((n) => n.progress);
      expect({ id, progress }).toEqual({ id, progress: [...progress].sort((x, y) => x - y) });
      for (const region of latest.get(id)!.regions) {
        const regional = history.flatMap((n) => n.regions.filter((r) => r.region === region.region).map((r) => r.progress));
        expect({ id, region: region.region, regional }).toEqual({
          id,
          region: region.region,
          regional: [...regional].sort((x, y) => x - y),
        });
      }
    }

    // Exactly one image per creation and region, and no image that no creation owns.
    const after = await ownImages();
    const expected: Record<string, string[]> = {
      'us-east-1': ids,
      'us-west-2': [a, b],
      'eu-west-1': [a],
    };
    let duplicates = 0;
    for (const region of REGIONS) {
      const made = after.get(region)!.filter((i) => !baseline.get(region)!.some((b0) => b0.ImageId === i.ImageId));
      const byCreation = new Map<string, number>();
      for (const image of made) {
        const owner = tagMap(image.Tags)['prism:creation-id'] ?? 'untagged';
        byCreation.set(owner, (byCreation.get(owner) ?? 0) + 1);
      }
      duplicates += [...byCreation.values()].reduce((s, n) => s + n - 1, 0);
      expect({ region, byCreation: Object.fromEntries(byCreation) }).toEqual({
        region,
        byCreation: Object.fromEntries(expected[region]!.map((id) => [id, 1])),
      });
      for (const id of expected[region]!) {
        const amiId =
          region === 'us-east-1' ? latest.get(id)!.amiId : latest.get(id)!.regions.find((r) => r.region === region)?.amiId;
        expect(made.find((i) => tagMap(i.Tags)['prism:creation-id'] === id)?.ImageId).toBe(amiId);
      }
    }
    expect(duplicates).toBe(0);
    expect(kills).toBe(3);
    console.info(`[tracking] restart: ${ids.length} creations, ${kills} SIGKILLs survived, ${duplicates} duplicate AMIs`);
  }, 90_000);
});
