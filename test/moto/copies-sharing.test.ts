// Copies, sharing, publishing and deregistration against moto: what prism-ami does must be
// visible in moto through the SDK (images per region, tags, launch permissions, snapshots).
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  CommunityAmisDocument,
  CreateAmiDocument,
  DeregisterAmiDocument,
  PublishAmiDocument,
  ShareAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import { collectOverWebSocket, ownerTag, startTestApp, tagMap, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
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
});
afterAll(async () => {
  for (const c of clients.values()) c.destroy();
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url });
  await ec2().send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'lab-box' }, ownerTag()] }],
    }),
  );
  return () => t.stop();
});

async function createAndFinish(input: Omit<CreateAmiInput, 'instance'>) {
  const res = await t.gql(CreateAmiDocument, { input: { instance: 'lab-box', ...input } });
  if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`${res.createAmi.__typename}: ${res.createAmi.message}`);
  const events = await collectOverWebSocket(t.url, AmiProgressDocument, { id: res.createAmi.creation.id });
  return events.at(-1)!.amiProgress;
}

async function launchPermissions(region: string, imageId: string) {
  const res = await ec2(region).send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
  return (res.LaunchPermissions ?? []).map((p) => p.Group ?? p.UserId).sort();
}

describe('copies, sharing and publishing against moto', () => {
  it('copies the AMI to two regions, each with its own AMI id and the service tags', async () => {
    const done = await createAndFinish({
      name: 'copied env',
      copyToRegions: ['us-west-2', 'eu-west-1'],
      tags: [{ key: 'team', value: 'bio' }],
    });
    expect(done.status).toBe('COMPLETED');
    expect(done.regions.map((r) => [r.region, r.status, r.progress])).toEqual([
      ['us-west-2', 'COMPLETED', 100],
      ['eu-west-1', 'COMPLETED', 100],
    ]);
    expect(done.cost.creationUsd).toBeCloseTo(2 * done.cost.sizeGiB * 0.02, 4);
    for (const copy of done.regions) {
      const { Images } = await ec2(copy.region).send(new DescribeImagesCommand({ ImageIds: [copy.amiId!] }));
      expect(Images).toHaveLength(1);
      expect(tagMap(Images![0]!.Tags)).toMatchObject({ team: 'bio', 'prism:creation-id': done.id, 'prism:managed': 'true' });
    }
    const listed = await t.gql(UserAmisDocument, {});
    expect(listed.userAmis.edges.map((e) => e.node.region).sort()).toEqual(['eu-west-1', 'us-east-1', 'us-west-2']);
    const west = await t.gql(UserAmisDocument, { filter: { region: 'us-west-2' } });
    expect(west.userAmis.edges.map((e) => e.node.amiId)).toEqual([done.regions[0]!.amiId]);
  });

  it('shares with accounts on create, on the source and every copy, and revokes them later', async () => {
    const done = await createAndFinish({
      name: 'shared env',
      copyToRegions: ['us-west-2'],
      shareWithAccounts: ['111122223333', '444455556666'],
    });
    expect(done.status).toBe('COMPLETED');
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual(['111122223333', '444455556666']);
    expect(await launchPermissions('us-west-2', done.regions[0]!.amiId!)).toEqual(['111122223333', '444455556666']);
    const listed = await t.gql(UserAmisDocument, { filter: { visibility: 'SHARED' } });
    expect(listed.userAmis.totalCount).toBe(2);

    const revoked = await t.gql(ShareAmiDocument, { input: { amiId: done.amiId!, accountIds: ['111122223333'], revoke: true } });
    expect(revoked.shareAmi.__typename).toBe('ShareAmiSuccess');
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual(['444455556666']);
    expect(await launchPermissions('us-west-2', done.regions[0]!.amiId!)).toEqual(['444455556666']);
  });

  it('publishes to the community (group all on source and copies) and unpublishes', async () => {
    const done = await createAndFinish({ name: 'community env', copyToRegions: ['us-west-2'] });
    const published = await t.gql(PublishAmiDocument, { input: { amiId: done.amiId!, public: true } });
    expect(published.publishAmi).toMatchObject({ __typename: 'PublishAmiSuccess', ami: { visibility: 'PUBLIC' } });
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual(['all']);
    expect(await launchPermissions('us-west-2', done.regions[0]!.amiId!)).toEqual(['all']);
    const { Images } = await ec2().send(new DescribeImagesCommand({ ImageIds: [done.amiId!] }));
    expect(Images![0]!.Public).toBe(true);
    expect(tagMap(Images![0]!.Tags)['prism:community']).toBe('published');
    const community = await t.gql(CommunityAmisDocument, {});
    expect(community.communityAmis.edges.map((e) => e.node.region).sort()).toEqual(['us-east-1', 'us-west-2']);

    const unpublished = await t.gql(PublishAmiDocument, { input: { amiId: done.amiId!, public: false } });
    expect(unpublished.publishAmi).toMatchObject({ __typename: 'PublishAmiSuccess', ami: { visibility: 'PRIVATE' } });
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual([]);
    expect(await launchPermissions('us-west-2', done.regions[0]!.amiId!)).toEqual([]);
    expect((await t.gql(CommunityAmisDocument, {})).communityAmis.totalCount).toBe(0);
  });

  it('makes the AMI public on create when asked, once it is available', async () => {
    const done = await createAndFinish({ name: 'public on create', public: true });
    expect(done.status).toBe('COMPLETED');
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual(['all']);
    expect((await t.gql(CommunityAmisDocument, {})).communityAmis.totalCount).toBe(1);
  });

  it("deregisters one region's AMI and deletes its snapshots; it stays listed as DEREGISTERED", async () => {
    const done = await createAndFinish({ name: 'short lived' });
    const { Images } = await ec2().send(new DescribeImagesCommand({ ImageIds: [done.amiId!] }));
    const snapshotIds = Images![0]!.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    const res = await t.gql(DeregisterAmiDocument, { input: { amiId: done.amiId! } });
    expect(res.deregisterAmi).toMatchObject({ __typename: 'DeregisterAmiSuccess', ami: { state: 'DEREGISTERED' } });
    const after = await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(after.Images ?? []).toHaveLength(0);
    const snaps = await ec2().send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: snapshotIds }] }),
    );
    expect(snaps.Snapshots ?? []).toHaveLength(0);
    const listed = await t.gql(UserAmisDocument, { filter: { state: 'DEREGISTERED' } });
    expect(listed.userAmis.edges.map((e) => e.node.amiId)).toEqual([done.amiId]);
  });

  it('rejects bad share and publish requests with typed errors and changes nothing', async () => {
    const done = await createAndFinish({ name: 'guarded env' });
    const badAccount = await t.gql(ShareAmiDocument, { input: { amiId: done.amiId!, accountIds: ['12'] } });
    expect(badAccount.shareAmi).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    const unknown = await t.gql(PublishAmiDocument, { input: { amiId: 'ami-0123456789abcdef0', public: true } });
    expect(unknown.publishAmi).toMatchObject({ __typename: 'NotFoundError', code: 'AMI_NOT_FOUND' });
    const malformed = await t.gql(DeregisterAmiDocument, { input: { amiId: 'not-an-ami' } });
    expect(malformed.deregisterAmi).toMatchObject({ __typename: 'ValidationError' });
    expect(await launchPermissions('us-east-1', done.amiId!)).toEqual([]);
  });
});
