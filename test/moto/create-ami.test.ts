// The main path against moto, an independent EC2 implementation: createAmi → amiProgress over
// WebSocket and SSE → userAmis, with the image and its snapshots tagged in moto; and every bad
// input answered with its typed error while no image appears in moto.
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AmiProgressDocument,
  AmiStatusDocument,
  CreateAmiDocument,
  UserAmisDocument,
  type CreateAmiInput,
} from '../../src/generated/graphql/graphql.js';
import {
  collectOverSse,
  collectOverWebSocket,
  ownerTag,
  startTestApp,
  tagMap,
  TEST_CREDENTIALS,
  type TestApp,
} from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';

let moto: Moto;
let t: TestApp;
let ec2: EC2Client;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
});

afterAll(async () => {
  ec2.destroy();
  await moto.stop();
});

beforeEach(async () => {
  await moto.reset();
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url });
  return () => t.stop();
});

async function runInstance(name: string): Promise<string> {
  const res = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }, ownerTag()] }],
    }),
  );
  return res.Instances![0]!.InstanceId!;
}

async function imagesInMoto() {
  const res = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  return res.Images ?? [];
}

async function createAmi(input: CreateAmiInput) {
  const data = await t.gql(CreateAmiDocument, { input });
  return data.createAmi;
}

describe('createAmi against moto', () => {
  it('creates an AMI from an instance found by its Name tag, streams progress over WebSocket to COMPLETED, and lists it', async () => {
    const instanceId = await runInstance('bio-workstation');
    const result = await createAmi({
      instance: 'bio-workstation',
      name: 'bio env (v1)',
      description: 'conda + drivers',
      templateName: 'python-ml',
      tags: [{ key: 'team', value: 'genomics' }],
    });
    expect(result.__typename).toBe('CreateAmiSuccess');
    if (result.__typename !== 'CreateAmiSuccess') return;
    const creation = result.creation;
    expect(creation.instanceId).toBe(instanceId);
    expect(creation.amiId).toMatch(/^ami-/);

    const events = await collectOverWebSocket(t.url, AmiProgressDocument, { id: creation.id });
    const last = events.at(-1)!.amiProgress;
    expect(last.status).toBe('COMPLETED');
    expect(last.stage).toBe('DONE');
    expect(last.progress).toBe(100);
    expect(last.cost.sizeGiB).toBeGreaterThan(0);
    expect(last.cost.storageMonthlyUsd).toBeCloseTo(last.cost.sizeGiB * 0.05, 4);
    const progresses = events.map((e) => e.amiProgress.progress);
    expect(progresses).toEqual([...progresses].sort((a, b) => a - b));

    const [image] = await imagesInMoto();
    expect(image?.ImageId).toBe(creation.amiId);
    const imageTags = tagMap(image?.Tags);
    expect(imageTags).toMatchObject({
      team: 'genomics',
      'prism:creation-id': creation.id,
      'prism:managed': 'true',
      'prism:template': 'python-ml',
    });
    const snapshotIds = (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter(Boolean) as string[];
    expect(snapshotIds.length).toBeGreaterThan(0);
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
    for (const snap of snaps.Snapshots ?? []) {
      const tags = tagMap(snap.Tags);
      expect(tags).toMatchObject({ team: 'genomics', 'prism:creation-id': creation.id });
    }

    const listed = await t.gql(UserAmisDocument, {});
    expect(listed.userAmis.totalCount).toBe(1);
    const node = listed.userAmis.edges[0]!.node;
    expect(node).toMatchObject({ amiId: creation.amiId, state: 'AVAILABLE', visibility: 'PRIVATE', templateName: 'python-ml' });
    expect(node.tags).toEqual([{ key: 'team', value: 'genomics' }]);
    const byTag = await t.gql(UserAmisDocument, { filter: { tags: [{ key: 'team', value: 'other' }] } });
    expect(byTag.userAmis.totalCount).toBe(0);
  });

  it('creates an AMI from an instance id and streams progress over SSE to COMPLETED', async () => {
    const instanceId = await runInstance('sse-box');
    const result = await createAmi({ instance: instanceId, name: 'sse image', noReboot: true });
    if (result.__typename !== 'CreateAmiSuccess') throw new Error(result.message);
    const events = await collectOverSse(t.url, AmiProgressDocument, { id: result.creation.id });
    expect(events[0]!.amiProgress.id).toBe(result.creation.id);
    expect(events.at(-1)!.amiProgress.status).toBe('COMPLETED');
    const status = await t.gql(AmiStatusDocument, { ref: result.creation.amiId! });
    expect(status.amiStatus?.id).toBe(result.creation.id);
    expect(status.amiStatus?.noReboot).toBe(true);
  });

  it('returns the first creation for a repeated idempotencyKey and makes one image', async () => {
    await runInstance('idem-box');
    const first = await createAmi({ instance: 'idem-box', name: 'idem image', idempotencyKey: 'retry-1' });
    const second = await createAmi({ instance: 'idem-box', name: 'idem image', idempotencyKey: 'retry-1' });
    if (first.__typename !== 'CreateAmiSuccess' || second.__typename !== 'CreateAmiSuccess') throw new Error('expected success');
    expect(second.creation.id).toBe(first.creation.id);
    expect(await imagesInMoto()).toHaveLength(1);
  });

  describe('bad input gets a typed error and creates no image in moto', () => {
    const cases: {
      title: string;
      setup?: () => Promise<unknown>;
      input: CreateAmiInput;
      typename: string;
      code: string;
      path?: string;
    }[] = [
      {
        title: 'a name with characters EC2 rejects',
        input: { instance: 'box', name: 'bad#name!' },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.name',
      },
      {
        title: 'a name that is too short',
        input: { instance: 'box', name: 'ab' },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.name',
      },
      {
        title: 'a tag key with the aws: prefix',
        input: { instance: 'box', name: 'tagged', tags: [{ key: 'aws:x', value: '1' }] },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.tags.0.key',
      },
      {
        title: 'a tag value over 256 characters',
        input: { instance: 'box', name: 'tagged', tags: [{ key: 'k', value: 'v'.repeat(257) }] },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.tags.0.value',
      },
      {
        title: 'more than 46 tags',
        input: { instance: 'box', name: 'tagged', tags: Array.from({ length: 47 }, (_, i) => ({ key: `k${i}`, value: 'v' })) },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.tags',
      },
      {
        title: 'an unknown region',
        input: { instance: 'box', name: 'copied', copyToRegions: ['mars-north-1'] },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.copyToRegions.0',
      },
      {
        title: 'an account id that is not 12 digits',
        input: { instance: 'box', name: 'shared', shareWithAccounts: ['12345'] },
        typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        path: 'input.shareWithAccounts.0',
      },
      {
        title: 'an unknown instance name',
        input: { instance: 'nobody-home', name: 'orphan' },
        typename: 'NotFoundError',
        code: 'INSTANCE_NOT_FOUND',
      },
      {
        title: 'an unknown instance id',
        input: { instance: 'i-0123456789abcdef0', name: 'orphan' },
        typename: 'NotFoundError',
        code: 'INSTANCE_NOT_FOUND',
      },
      {
        title: 'a Name tag shared by two instances',
        setup: async () => {
          await runInstance('twin');
          await runInstance('twin');
        },
        input: { instance: 'twin', name: 'twins' },
        typename: 'ConflictError',
        code: 'INSTANCE_AMBIGUOUS',
      },
      {
        title: 'a terminated instance',
        setup: async () => {
          const id = await runInstance('gone');
          await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
        },
        input: { instance: 'gone', name: 'gone image' },
        typename: 'InvalidStateError',
        code: 'INSTANCE_STATE_INVALID',
      },
    ];

    for (const c of cases) {
      it(`rejects ${c.title} with ${c.code}`, async () => {
        await runInstance('box');
        await c.setup?.();
        const result = await createAmi(c.input);
        expect(result.__typename).toBe(c.typename);
        if (result.__typename === 'CreateAmiSuccess') return;
        expect(result.code).toBe(c.code);
        expect(result.message.length).toBeGreaterThan(10);
        if (c.path && result.__typename === 'ValidationError') {
          expect(result.fieldErrors.map((f) => f.path)).toContain(c.path);
        }
        expect(await imagesInMoto()).toHaveLength(0);
        const listed = await t.gql(UserAmisDocument, {});
        expect(listed.userAmis.totalCount).toBe(0);
      });
    }

    it('rejects a name already used by an AMI of the account with AMI_NAME_TAKEN', async () => {
      await runInstance('box');
      const first = await createAmi({ instance: 'box', name: 'taken name' });
      expect(first.__typename).toBe('CreateAmiSuccess');
      const second = await createAmi({ instance: 'box', name: 'taken name' });
      expect(second.__typename).toBe('ConflictError');
      if (second.__typename === 'ConflictError') expect(second.code).toBe('AMI_NAME_TAKEN');
      expect(await imagesInMoto()).toHaveLength(1);
    });

    it('reports every invalid field at once', async () => {
      const result = await createAmi({
        instance: 'box',
        name: 'x',
        copyToRegions: ['nowhere-1'],
        shareWithAccounts: ['abc'],
        tags: [{ key: 'prism:mine', value: '' }],
      });
      if (result.__typename !== 'ValidationError') throw new Error(`expected ValidationError, got ${result.__typename}`);
      expect(result.fieldErrors.map((f) => f.path).sort()).toEqual(
        ['input.copyToRegions.0', 'input.name', 'input.shareWithAccounts.0', 'input.tags.0.key'].sort(),
      );
    });
  });

  it('keeps an image tagged by CreateTags out of the user list when another service made it', async () => {
    // An image the service did not create is not listed as the user's.
    const instanceId = await runInstance('foreign');
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'x', Value: 'y' }] }));
    const listed = await t.gql(UserAmisDocument, {});
    expect(listed.userAmis.totalCount).toBe(0);
  });
});
