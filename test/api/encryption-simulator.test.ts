// An encrypted creation against the built-in simulator, which models encrypted CopyImage (the key
// ARN on the snapshots) as EC2 does. Moto 5.2.1 lacks encrypted copies (CopyImage ignores
// Encrypted and KmsKeyId), so this flow has no moto test.
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiCreationDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const WEST_KEY = '0987dcba-09fe-87dc-65ba-ab0987654321';

interface EncryptedAmis {
  userAmis: { edges: { node: { amiId: string; region: string; state: string; encrypted: boolean; kmsKeyId: string | null } }[] };
}
// The CLI's fragments do not ask for these fields (yet): the test asks for exactly what it checks.
const EncryptedAmisDocument = parse(
  '{ userAmis(first: 10) { edges { node { amiId region state encrypted kmsKeyId } } } }',
) as TypedDocumentNode<EncryptedAmis, Record<string, never>>;

function client(region: string, endpoint: string) {
  return new EC2Client({ region, endpoint, credentials: TEST_CREDENTIALS });
}

describe('encryption on the simulator', () => {
  it('leaves only encrypted images, each with its region key, and removes the unencrypted one with its snapshots', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', POLL_INTERVAL_MS: '150', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
    const simUrl = t.app.simulator!.url;
    const res = await t.gql(CreateAmiDocument, {
      input: {
        instance: 'teaching-env',
        name: 'encrypted on sim',
        copyToRegions: ['us-west-2'],
        encryption: { kmsKeyId: KEY, regionKmsKeyIds: [{ region: 'us-west-2', kmsKeyId: WEST_KEY }] },
      },
    });
    if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(res.createAmi.__typename);
    const { id } = res.createAmi.creation;
    const unencrypted = res.createAmi.creation.amiId!;
    const done = await eventually(async () => {
      const c = (await t!.gql(AmiCreationDocument, { id })).amiCreation;
      return c && c.status !== 'IN_PROGRESS' && c.status !== 'PENDING' ? c : undefined;
    });
    expect(done).toMatchObject({ status: 'COMPLETED', stage: 'DONE' });
    const encrypted = done.amiId!;
    expect(encrypted).not.toBe(unencrypted);

    const east = client('us-east-1', simUrl);
    const west = client('us-west-2', simUrl);
    try {
      const eastImages = (await east.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
      expect(eastImages.map((i) => i.ImageId)).toEqual([encrypted]);
      const account = eastImages[0]!.OwnerId!;
      const snapshots = async (c: EC2Client) =>
        (await c.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
      // The unencrypted image's snapshots are gone: every snapshot left is encrypted with the region's key.
      const eastSnaps = await snapshots(east);
      expect(eastSnaps.length).toBeGreaterThan(0);
      for (const s of eastSnaps)
        expect(s).toMatchObject({ Encrypted: true, KmsKeyId: `arn:aws:kms:us-east-1:${account}:key/${KEY}` });
      const westSnaps = await snapshots(west);
      expect(westSnaps.length).toBeGreaterThan(0);
      for (const s of westSnaps)
        expect(s).toMatchObject({ Encrypted: true, KmsKeyId: `arn:aws:kms:us-west-2:${account}:key/${WEST_KEY}` });

      const listed = (await t.gql(EncryptedAmisDocument, {})).userAmis.edges.map((e) => e.node);
      const byId = Object.fromEntries(listed.map((n) => [n.amiId, n]));
      expect(byId[encrypted]).toMatchObject({
        region: 'us-east-1',
        state: 'AVAILABLE',
        encrypted: true,
        kmsKeyId: `arn:aws:kms:us-east-1:${account}:key/${KEY}`,
      });
      const copy = done.regions[0]!.amiId!;
      expect(byId[copy]).toMatchObject({
        region: 'us-west-2',
        state: 'AVAILABLE',
        encrypted: true,
        kmsKeyId: `arn:aws:kms:us-west-2:${account}:key/${WEST_KEY}`,
      });
      expect(byId[unencrypted]).toMatchObject({ state: 'DEREGISTERED' });
    } finally {
      east.destroy();
      west.destroy();
    }
  });
});
