// Reconciliation and crash recovery against moto, an independent EC2 implementation (which ignores
// CopyImage's ClientToken: a copy whose id was lost must be found by its tag instead).
import { DeregisterImageCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findCreation, updateCreation, type CreationRecord } from '../../src/db/creations.js';
import { CreateAmiDocument, UserAmisDocument } from '../../src/generated/graphql/graphql.js';
import { ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';

let moto: Moto;
let t: TestApp;
const clients = new Map<string, EC2Client>();

function ec2(region = 'us-east-1'): EC2Client {
  let c = clients.get(region);
  if (!c) clients.set(region, (c = new EC2Client({ region, endpoint: moto.url, credentials: TEST_CREDENTIALS })));
  return c;
}

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  for (const c of clients.values()) c.destroy();
  await moto.stop();
});

beforeEach(async () => {
  await moto.reset();
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url }, {}, { listen: false });
  return () => t.stop();
});

async function createFromNewInstance(name: string, copyToRegions: string[] = []): Promise<CreationRecord> {
  const run = await ec2().send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: `${name} box` }, ownerTag()] }],
    }),
  );
  const res = await t.gql(CreateAmiDocument, { input: { instance: run.Instances![0]!.InstanceId!, name, copyToRegions } });
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(res.createAmi));
  return (await findCreation(t.app.deps.db, res.createAmi.creation.id))!;
}

async function finish(id: string): Promise<CreationRecord> {
  for (let i = 0; i < 20; i++) {
    await t.app.tracker.runOnce();
    const c = (await findCreation(t.app.deps.db, id))!;
    if (c.status !== 'PENDING' && c.status !== 'IN_PROGRESS') return c;
  }
  throw new Error(`creation ${id} did not end`);
}

describe('tracking against moto', () => {
  it('shows an AMI deregistered directly in EC2 as DEREGISTERED in userAmis after reconciliation', async () => {
    const c = await finish((await createFromNewInstance('moto reconciled')).id);
    expect(c.status).toBe('COMPLETED');
    await ec2().send(new DeregisterImageCommand({ ImageId: c.amiId! }));
    const before = await t.gql(UserAmisDocument, {});
    expect(before.userAmis.edges.map((e) => e.node.state)).toEqual(['AVAILABLE']);
    const report = await t.app.reconciler.runOnce();
    expect(report.changed).toEqual([{ amiId: c.amiId, from: 'AVAILABLE', to: 'DEREGISTERED' }]);
    const after = await t.gql(UserAmisDocument, {});
    expect(after.userAmis.edges.map((e) => ({ amiId: e.node.amiId, state: e.node.state }))).toEqual([
      { amiId: c.amiId, state: 'DEREGISTERED' },
    ]);
  });

  it('adopts a copy whose id was lost in a crash by its tag, without a second CopyImage (moto ignores ClientToken)', async () => {
    const created = await createFromNewInstance('moto copy crash', ['us-west-2']);
    let c = created;
    for (let i = 0; i < 10 && !c.copies[0]!.amiId; i++) {
      await t.app.tracker.runOnce();
      c = (await findCreation(t.app.deps.db, created.id))!;
    }
    const copyId = c.copies[0]!.amiId!;
    expect(copyId).toMatch(/^ami-/);
    // A crash after CopyImage, before the copy's id was stored; moto's copies are available at once,
    // so put the creation back to the moment before.
    await updateCreation(t.app.deps.db, c.id, { status: 'IN_PROGRESS', stage: 'COPYING', completedAt: null }, [
      { region: 'us-west-2', patch: { amiId: null, status: 'PENDING', progress: 0, completedAt: null } },
    ]);
    const done = await finish(c.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.copies[0]!.amiId).toBe(copyId);
    const west = await ec2('us-west-2').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect((west.Images ?? []).map((i) => i.ImageId)).toEqual([copyId]);
  });
});
