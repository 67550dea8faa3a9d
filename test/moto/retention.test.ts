// A template's retention against moto: the older AMI (source and copy) is deregistered in each
// region and its snapshots deleted, as seen through the SDK; the newer ones stay.
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  CreateAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { collectOverWebSocket, ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';

let moto: Moto;
let t: TestApp;
const clients = new Map<string, EC2Client>();
const ec2 = (region = 'us-east-1') => {
  let c = clients.get(region);
  if (!c) clients.set(region, (c = new EC2Client({ region, endpoint: moto.url, credentials: TEST_CREDENTIALS })));
  return c;
};

beforeAll(async () => {
  moto = await startMoto();
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url });
  await ec2().send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'lab-box' }, ownerTag()] }],
    }),
  );
});
afterAll(async () => {
  await t?.stop();
  for (const c of clients.values()) c.destroy();
  await moto.stop();
});

const TEMPLATE = 'moto-retention';

async function createAndFinish(input: Omit<CreateAmiInput, 'instance'>) {
  const res = await t.gql(CreateAmiDocument, { input: { instance: 'lab-box', templateName: TEMPLATE, ...input } });
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`${res.createAmi.__typename}: ${res.createAmi.message}`);
  const events = await collectOverWebSocket(t.url, AmiProgressDocument, { id: res.createAmi.creation.id });
  return events.at(-1)!.amiProgress;
}

async function ownImages(region: string) {
  return (await ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

async function ownSnapshotIds(region: string) {
  return ((await ec2(region).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map(
    (s) => s.SnapshotId,
  );
}

const snapshotIdsOf = (image: Awaited<ReturnType<typeof ownImages>>[number] | undefined) =>
  (image?.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));

describe('retention against moto', () => {
  it('retires the oldest AMI of the template in every region, snapshots included, and keeps the newest two', async () => {
    const first = await createAndFinish({ name: 'retention one', copyToRegions: ['us-west-2'] });
    const firstCopy = first.regions[0]!.amiId!;
    const snapshots = {
      'us-east-1': snapshotIdsOf((await ownImages('us-east-1')).find((i) => i.ImageId === first.amiId)),
      'us-west-2': snapshotIdsOf((await ownImages('us-west-2')).find((i) => i.ImageId === firstCopy)),
    };
    expect(snapshots['us-east-1'].length).toBeGreaterThan(0);
    expect(snapshots['us-west-2'].length).toBeGreaterThan(0);
    const second = await createAndFinish({ name: 'retention two' });
    const third = await createAndFinish({ name: 'retention three', retention: { keepLatest: 2 } });

    expect(third.status).toBe('COMPLETED');
    expect(third.message).toBe(
      `AMI ${third.amiId} is available in us-east-1; retired 1 older AMI of template '${TEMPLATE}': ${first.amiId} (and its copies)`,
    );
    expect((await ownImages('us-east-1')).map((i) => i.ImageId).sort()).toEqual([second.amiId, third.amiId].sort());
    expect((await ownImages('us-west-2')).map((i) => i.ImageId)).toEqual([]);
    for (const region of ['us-east-1', 'us-west-2'] as const) {
      const left = await ownSnapshotIds(region);
      expect(snapshots[region].filter((id) => left.includes(id))).toEqual([]);
    }
    const gone = (await t.gql(UserAmisDocument, { filter: { state: 'DEREGISTERED' } })).userAmis.edges.map((e) => e.node);
    expect(gone.map((a) => [a.amiId, a.deregisteredReason]).sort()).toEqual(
      [first.amiId!, firstCopy]
        .sort()
        .map((id) => [
          id,
          `Retired by the retention of template '${TEMPLATE}' (keep latest 2) when ${third.amiId} became available`,
        ]),
    );
  });
});
