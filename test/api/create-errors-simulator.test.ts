// createAmi errors that moto cannot produce (it has no instance states to refuse), in-process
// through yoga.fetch against the built-in simulator: a typed error, and no image, no row.
import { DescribeImagesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiCreationsDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';

let t: TestApp;
let sim: EC2Client;

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator' }, {}, { listen: false });
  sim = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
});
afterAll(async () => {
  sim.destroy();
  await t.stop();
});

async function expectNothingCreated() {
  expect((await sim.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).toHaveLength(0);
  expect((await t.gql(AmiCreationsDocument, {})).amiCreations.totalCount).toBe(0);
}

describe('createAmi on an instance in the wrong state', () => {
  it('refuses a pending instance with INSTANCE_STATE_INVALID naming the state and what to do', async () => {
    const run = await sim.send(
      new RunInstancesCommand({
        ImageId: 'ami-0a1b2c3d4e5f6a001',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [ownerTag()] }],
      }),
    );
    const id = run.Instances![0]!.InstanceId!;
    const res = (await t.gql(CreateAmiDocument, { input: { instance: id, name: 'too early' } })).createAmi;
    expect(res).toMatchObject({ __typename: 'InvalidStateError', code: 'INSTANCE_STATE_INVALID' });
    if (res.__typename === 'InvalidStateError') expect(res.message).toMatch(/is pending.*running or stopped/);
    await expectNothingCreated();
  });

  it('refuses a stopping instance with INSTANCE_STATE_INVALID', async () => {
    await sim.send(new StopInstancesCommand({ InstanceIds: ['i-0a1b2c3d4e5f60001'] }));
    const res = (await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'mid stop' } })).createAmi;
    expect(res).toMatchObject({ __typename: 'InvalidStateError', code: 'INSTANCE_STATE_INVALID' });
    await expectNothingCreated();
  });

  it('refuses a name EC2 would reject before calling it, with the offending characters', async () => {
    const res = (await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name: 'bad|name' } })).createAmi;
    if (res.__typename !== 'ValidationError') throw new Error(res.__typename);
    expect(res.fieldErrors).toEqual([{ path: 'input.name', message: expect.stringContaining('"|"') as string }]);
    await expectNothingCreated();
  });
});
