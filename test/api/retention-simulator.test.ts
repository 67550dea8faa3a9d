// A template's retention end to end, in-process through yoga.fetch against the built-in simulator:
// the third AMI of a template with keepLatest 2 retires the first (deregistered on EC2, its
// snapshots deleted, DEREGISTERED with the reason in userAmis); a bad retention is refused whole.
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  AmiCreationsDocument,
  CreateAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

let t: TestApp;
let sim: EC2Client;

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', POLL_INTERVAL_MS: '100', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
  sim = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
});
afterAll(async () => {
  sim.destroy();
  await t.stop();
});

const TEMPLATE = 'sim-retention';

/** createAmi, then wait for the creation to end; the ended creation. */
async function captured(input: Omit<CreateAmiInput, 'instance'>) {
  const res = (await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', noReboot: true, ...input } })).createAmi;
  if (res.__typename !== 'CreateAmiSuccess') throw new Error(`${res.__typename}: ${JSON.stringify(res)}`);
  return eventually(async () => {
    const c = (await t.gql(AmiCreationDocument, { id: res.creation.id })).amiCreation;
    return c && ['COMPLETED', 'PARTIALLY_COMPLETED', 'FAILED'].includes(c.status) ? c : undefined;
  });
}

async function snapshotsOf(amiId: string): Promise<string[]> {
  const [image] = (await sim.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images ?? [];
  return (image?.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
}

describe('retention on the simulator', () => {
  it('the third AMI of a template with keepLatest 2 retires the first: gone from EC2 with its snapshots, DEREGISTERED with the reason', async () => {
    const first = await captured({ name: 'retention one', templateName: TEMPLATE });
    const firstSnapshots = await snapshotsOf(first.amiId!);
    expect(firstSnapshots.length).toBeGreaterThan(0);
    const second = await captured({ name: 'retention two', templateName: TEMPLATE, retention: { keepLatest: 2 } });
    expect(second.message).toBe(`AMI ${second.amiId} is available in us-east-1`);
    const third = await captured({ name: 'retention three', templateName: TEMPLATE, retention: { keepLatest: 2 } });

    expect(third).toMatchObject({
      status: 'COMPLETED',
      retention: { keepLatest: 2 },
      message: `AMI ${third.amiId} is available in us-east-1; retired 1 older AMI of template '${TEMPLATE}': ${first.amiId}`,
    });
    const gone = (await t.gql(UserAmisDocument, { filter: { state: 'DEREGISTERED', templateName: TEMPLATE } })).userAmis;
    expect(gone.edges.map((e) => [e.node.amiId, e.node.deregisteredReason])).toEqual([
      [first.amiId, `Retired by the retention of template '${TEMPLATE}' (keep latest 2) when ${third.amiId} became available`],
    ]);
    const available = (await t.gql(UserAmisDocument, { filter: { state: 'AVAILABLE', templateName: TEMPLATE } })).userAmis;
    expect(available.edges.map((e) => e.node.amiId).sort()).toEqual([second.amiId, third.amiId].sort());

    const listed = (await sim.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(listed.map((i) => i.ImageId)).not.toContain(first.amiId);
    const left = (await sim.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
    expect(left.map((s) => s.SnapshotId).filter((id) => firstSnapshots.includes(id!))).toEqual([]);
  });
});

describe('retention refused in createAmi', () => {
  it.each([
    [{ templateName: TEMPLATE, retention: { keepLatest: 0 } }, 'input.retention.keepLatest', 'must be between 1 and 100 (got 0)'],
    [
      { templateName: TEMPLATE, retention: { keepLatest: 101 } },
      'input.retention.keepLatest',
      'must be between 1 and 100 (got 101)',
    ],
    [{ retention: { keepLatest: 2 } }, 'input.retention', 'set templateName: retention keeps the newest AMIs of one template'],
  ])('%j is a ValidationError at its path, and nothing is sent to EC2 or recorded', async (input, path, message) => {
    await t.app.deps.regions.knownRegions(); // the regions EC2 enables are looked up once, beforehand
    const calls = t.app.deps.ec2.callCount();
    const creations = (await t.gql(AmiCreationsDocument, {})).amiCreations.totalCount;
    const res = (await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name: 'refused retention', ...input } }))
      .createAmi;

    if (res.__typename !== 'ValidationError') throw new Error(res.__typename);
    expect(res.fieldErrors).toEqual([{ path, message }]);
    expect(t.app.deps.ec2.callCount()).toBe(calls);
    expect((await t.gql(AmiCreationsDocument, {})).amiCreations.totalCount).toBe(creations);
  });
});
