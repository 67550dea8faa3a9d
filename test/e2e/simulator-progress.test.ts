// End to end on the built-in simulator: a real listening server whose in-process simulator snapshots
// at 3 GiB/s, createAmi through the typed documents, amiProgress over a real WebSocket and over SSE
// climbing to COMPLETED, then the AMI in userAmis and, in the simulator itself, one image carrying
// the creation id with its snapshots tagged too.
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  CreateAmiDocument,
  ServerInfoDocument,
  UserAmisDocument,
  type AmiProgressSubscription,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { collectOverSse, collectOverWebSocket, startTestApp, tagMap, type TestApp } from '../support/harness.js';

const SPEED_GIB_PER_SECOND = 3;

let t: TestApp;
let ec2: EC2Client;

beforeAll(async () => {
  t = await startTestApp({
    EC2_BACKEND: 'simulator',
    SIMULATOR_SPEED_GIB_PER_SECOND: String(SPEED_GIB_PER_SECOND),
    POLL_INTERVAL_MS: '200',
  });
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: t.app.simulator!.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  ec2?.destroy();
  await t?.stop();
});

async function createAmi(input: CreateAmiInput) {
  const { createAmi: result } = await t.gql(CreateAmiDocument, { input });
  if (result.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${result.__typename} ${result.message}`);
  return result.creation;
}

type Progress = AmiProgressSubscription['amiProgress'];

/** The checks both transports share: progress climbs in steps with an estimate, then completes. */
function expectClimbToCompletion(events: Progress[], creationId: string, minSeconds: number): Progress {
  expect(events.length).toBeGreaterThan(3);
  for (const e of events) expect(e.id).toBe(creationId);

  const progresses = events.map((e) => e.progress);
  expect(progresses, 'progress never decreases').toEqual([...progresses].sort((a, b) => a - b));
  const steps = [...new Set(progresses)].filter((p) => p > 0 && p < 100);
  expect(steps.length, `distinct progress values between 0 and 100: ${steps.join(', ')}`).toBeGreaterThanOrEqual(3);
  const elapsed = events.map((e) => e.elapsedSeconds);
  expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));

  const midway = events.filter((e) => e.status === 'IN_PROGRESS' && e.progress > 0 && e.progress < 100);
  expect(midway.length).toBeGreaterThanOrEqual(3);
  for (const e of midway) {
    expect(e.stage).toBe('SNAPSHOTTING');
    // The message quotes EC2's snapshot percent; progress is the size-weighted share of the work,
    // which for a single snapshot is the same number (up to rounding).
    const quoted = /Creating snapshot - (\d+)% complete/.exec(e.message)?.[1];
    expect(quoted, e.message).toBeDefined();
    expect(Math.abs(Number(quoted) - e.progress)).toBeLessThanOrEqual(1);
  }
  const estimated = midway.filter((e) => e.estimatedSecondsRemaining !== null);
  expect(estimated.length, 'some mid-way event carries an estimate').toBeGreaterThan(0);
  for (const e of estimated) expect(e.estimatedSecondsRemaining).toBeGreaterThanOrEqual(0);

  const last = events.at(-1)!;
  expect(last).toMatchObject({ status: 'COMPLETED', stage: 'DONE', progress: 100 });
  expect(last.completedAt).not.toBeNull();
  // Snapshotting at the simulator's configured speed takes real time: nothing completes at once.
  expect(last.elapsedSeconds).toBeGreaterThanOrEqual(minSeconds);
  return last;
}

/** The simulator's own view: exactly one image carries the creation id, and so do its snapshots. */
async function expectTaggedInSimulator(creationId: string, amiId: string, userTags: Record<string, string>): Promise<Image> {
  const out = await ec2.send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:prism:creation-id', Values: [creationId] }] }),
  );
  expect(out.Images?.map((i) => i.ImageId)).toEqual([amiId]);
  const image = out.Images![0]!;
  expect(image.State).toBe('available');
  expect(tagMap(image.Tags)).toMatchObject({ ...userTags, 'prism:creation-id': creationId, 'prism:managed': 'true' });

  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  expect(snapshotIds.length).toBeGreaterThan(0);
  const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
  expect(snaps.Snapshots).toHaveLength(snapshotIds.length);
  for (const s of snaps.Snapshots ?? []) {
    expect(s.State).toBe('completed');
    expect(tagMap(s.Tags)).toMatchObject({ ...userTags, 'prism:creation-id': creationId });
  }
  return image;
}

async function listedAmi(amiId: string) {
  const { userAmis } = await t.gql(UserAmisDocument, { first: 50 });
  return userAmis.edges.map((e) => e.node).find((n) => n.amiId === amiId);
}

describe('prism-ami on the built-in simulator, end to end over real sockets', () => {
  it('reports the SIMULATOR backend in serverInfo', async () => {
    const { serverInfo } = await t.gql(ServerInfoDocument, {});
    expect(serverInfo.ec2Backend).toBe('SIMULATOR');
    expect(serverInfo.sourceRegion).toBe('us-east-1');
  });

  it('captures demo-workstation (30 GiB, ~10 s) with amiProgress over WebSocket climbing to COMPLETED, then lists it AVAILABLE with its tags', async () => {
    const creation = await createAmi({
      instance: 'demo-workstation',
      name: 'e2e workstation (ws)',
      description: 'captured end to end',
      tags: [{ key: 'team', value: 'genomics' }],
    });
    expect(creation.instanceId).toBe(SEEDED_INSTANCES['demo-workstation']);
    expect(creation.amiId).toMatch(/^ami-[0-9a-f]{17}$/);

    const events = await collectOverWebSocket(t.url, AmiProgressDocument, { id: creation.id }, { timeoutMs: 30_000 });
    const last = expectClimbToCompletion(
      events.map((e) => e.amiProgress),
      creation.id,
      (30 / SPEED_GIB_PER_SECOND) * 0.8,
    );
    expect(last.amiId).toBe(creation.amiId);
    expect(last.cost.sizeGiB).toBe(30);

    const listed = await listedAmi(creation.amiId!);
    expect(listed).toMatchObject({
      name: 'e2e workstation (ws)',
      state: 'AVAILABLE',
      visibility: 'PRIVATE',
      region: 'us-east-1',
    });
    expect(listed?.tags).toEqual([{ key: 'team', value: 'genomics' }]);

    const image = await expectTaggedInSimulator(creation.id, creation.amiId!, { team: 'genomics' });
    expect(image).toMatchObject({
      Name: 'e2e workstation (ws)',
      Description: 'captured end to end',
      SourceInstanceId: creation.instanceId,
    });
  }, 45_000);

  it('captures the stopped teaching-env (16 GiB, ~5 s) with amiProgress over SSE climbing to COMPLETED, then lists it AVAILABLE with its tags', async () => {
    const creation = await createAmi({
      instance: 'teaching-env',
      name: 'e2e teaching (sse)',
      tags: [{ key: 'course', value: 'bio101' }],
    });
    expect(creation.instanceId).toBe(SEEDED_INSTANCES['teaching-env']);

    const events = await collectOverSse(t.url, AmiProgressDocument, { id: creation.id }, { timeoutMs: 30_000 });
    const last = expectClimbToCompletion(
      events.map((e) => e.amiProgress),
      creation.id,
      (16 / SPEED_GIB_PER_SECOND) * 0.8,
    );
    expect(last.cost.sizeGiB).toBe(16);

    const listed = await listedAmi(creation.amiId!);
    expect(listed).toMatchObject({ name: 'e2e teaching (sse)', state: 'AVAILABLE' });
    expect(listed?.tags).toEqual([{ key: 'course', value: 'bio101' }]);
    await expectTaggedInSimulator(creation.id, creation.amiId!, { course: 'bio101' });
  }, 45_000);
});
