// Copies, publishing and faults against the built-in simulator, which (unlike moto) models time,
// block public access, ClientToken idempotency and failing copies.
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  AmiProgressDocument,
  CreateAmiDocument,
  PublishAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { copyClientToken } from '../../src/services/tracker/index.js';
import { collectOverWebSocket, eventually, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(env: Record<string, string> = {}) {
  t = await startTestApp({ EC2_BACKEND: 'simulator', POLL_INTERVAL_MS: '150', ...env });
  const sim = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
  return { t, sim, simUrl: t.app.simulator!.url };
}

async function create(app: TestApp, input: Omit<CreateAmiInput, 'instance'>, instance = 'teaching-env') {
  const res = await app.gql(CreateAmiDocument, { input: { instance, ...input } });
  return res.createAmi;
}

async function imagesIn(simUrl: string, region: string) {
  const c = new EC2Client({ region, endpoint: simUrl, credentials: TEST_CREDENTIALS });
  try {
    return (await c.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  } finally {
    c.destroy();
  }
}

describe('copies on the simulator', () => {
  it('shows copy progress per region in amiProgress while the copies run, then COMPLETED', async () => {
    const { t } = await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '8' });
    const created = await create(t, { name: 'copy watch', copyToRegions: ['us-west-2', 'eu-west-1'] });
    if (created.__typename !== 'CreateAmiSuccess') throw new Error(created.__typename);
    const events = (await collectOverWebSocket(t.url, AmiProgressDocument, { id: created.creation.id })).map(
      (e) => e.amiProgress,
    );
    const copying = events.filter((e) => e.stage === 'COPYING');
    expect(copying.length).toBeGreaterThan(0);
    expect(copying.some((e) => e.regions.some((r) => r.progress > 0 && r.progress < 100))).toBe(true);
    expect(copying.some((e) => /Copying to us-west-2/.test(e.message))).toBe(true);
    const last = events.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect(last.regions.every((r) => r.status === 'COMPLETED' && r.amiId?.startsWith('ami-'))).toBe(true);
    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('makes no second copy when CopyImage is retried with the same client token', async () => {
    const { t, simUrl } = await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
    const created = await create(t, { name: 'copy once', copyToRegions: ['us-west-2'] });
    if (created.__typename !== 'CreateAmiSuccess') throw new Error(created.__typename);
    const done = await eventually(async () => {
      const c = (await t.gql(AmiCreationDocument, { id: created.creation.id })).amiCreation;
      return c?.status === 'COMPLETED' ? c : undefined;
    });
    const again = await t.app.deps.ec2.copyImage('us-west-2', {
      sourceRegion: 'us-east-1',
      sourceImageId: done.amiId!,
      name: done.name,
      clientToken: copyClientToken(done.id, 'us-west-2'),
      tags: [],
    });
    expect(again).toBe(done.regions[0]!.amiId);
    expect(await imagesIn(simUrl, 'us-west-2')).toHaveLength(1);
  });

  it('ends PARTIALLY_COMPLETED with the reason for the region whose copy failed', async () => {
    const { t, simUrl } = await start({ SIMULATOR_SPEED_GIB_PER_SECOND: '40' });
    const created = await create(t, { name: 'half copied', copyToRegions: ['us-west-2'] });
    if (created.__typename !== 'CreateAmiSuccess') throw new Error(created.__typename);
    // The source image is already decided; every image started from now on fails.
    await fetch(`${simUrl}/_simulator/config`, { method: 'POST', body: JSON.stringify({ failRate: 1 }) });
    const events = await collectOverWebSocket(t.url, AmiProgressDocument, { id: created.creation.id });
    const last = events.at(-1)!.amiProgress;
    expect(last.status).toBe('PARTIALLY_COMPLETED');
    expect(last.amiId).toMatch(/^ami-/);
    expect(last.regions[0]).toMatchObject({ region: 'us-west-2', status: 'FAILED' });
    expect(last.regions[0]!.message).toMatch(/fail/i);
    const listed = await t.gql(UserAmisDocument, {});
    const states = Object.fromEntries(listed.userAmis.edges.map((e) => [e.node.region, e.node.state]));
    expect(states).toEqual({ 'us-east-1': 'AVAILABLE', 'us-west-2': 'FAILED' });
    // Both regions' AMIs name their creation (Ami.creation, one batched lookup for the page).
    expect(listed.userAmis.edges.map((e) => e.node.creation?.id)).toEqual([created.creation.id, created.creation.id]);
  });
});

describe('block public access on the simulator', () => {
  it('refuses public: true on create with PUBLIC_ACCESS_BLOCKED naming the setting, and creates nothing', async () => {
    const { t, simUrl } = await start({ SIMULATOR_BLOCK_PUBLIC_ACCESS: 'true' });
    const res = await create(t, { name: 'public try', public: true });
    expect(res).toMatchObject({ __typename: 'ForbiddenError', code: 'PUBLIC_ACCESS_BLOCKED' });
    if (res.__typename === 'ForbiddenError')
      expect(res.message).toMatch(/block public access.*disable-image-block-public-access/is);
    expect(await imagesIn(simUrl, 'us-east-1')).toHaveLength(0);
    expect((await t.gql(UserAmisDocument, {})).userAmis.totalCount).toBe(0);
  });

  it('refuses publishAmi with PUBLIC_ACCESS_BLOCKED and leaves the AMI private', async () => {
    const { t, simUrl } = await start({ SIMULATOR_BLOCK_PUBLIC_ACCESS: 'true', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
    const created = await create(t, { name: 'stay private' });
    if (created.__typename !== 'CreateAmiSuccess') throw new Error(created.__typename);
    await eventually(async () =>
      (await t.gql(AmiCreationDocument, { id: created.creation.id })).amiCreation?.status === 'COMPLETED' ? true : undefined,
    );
    const res = await t.gql(PublishAmiDocument, { input: { amiId: created.creation.amiId!, public: true } });
    expect(res.publishAmi).toMatchObject({ __typename: 'ForbiddenError', code: 'PUBLIC_ACCESS_BLOCKED' });
    const [image] = await imagesIn(simUrl, 'us-east-1');
    expect(image?.Public).toBe(false);
    expect((await t.gql(UserAmisDocument, {})).userAmis.edges[0]!.node.visibility).toBe('PRIVATE');
  });
});
