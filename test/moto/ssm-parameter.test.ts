// createAmi's ssmParameter against moto, an independent SSM (and EC2) implementation: once each
// image is available, its id is in the parameter of its own region (DataType aws:ec2:image). Moto
// 5.2.1 has no image deprecation, deregistration protection, ImdsSupport or encrypted copies, so
// this file asks only for ssmParameter; the simulator's API test covers the other settings.
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AmiCreationDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { eventually, ownerTag, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { startMoto, type Moto } from '../support/moto.js';

let moto: Moto;
let t: TestApp;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto.stop();
});

beforeEach(async () => {
  await moto.reset();
  t = await startTestApp({ EC2_BACKEND: 'aws', AWS_ENDPOINT_URL_EC2: moto.url, AWS_ENDPOINT_URL_SSM: moto.url });
  return () => t.stop();
});

async function runInstance(name: string): Promise<string> {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS });
  try {
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
  } finally {
    ec2.destroy();
  }
}

async function parameterIn(region: string, name: string) {
  const ssm = new SSMClient({ region, endpoint: moto.url, credentials: TEST_CREDENTIALS });
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
  } finally {
    ssm.destroy();
  }
}

describe('ssmParameter against moto', () => {
  it("puts each region's AMI id in its region's parameter, as aws:ec2:image, and overwrites it on the next creation", async () => {
    const instance = await runInstance('ssm-env');
    const create = async (name: string) => {
      const res = await t.gql(CreateAmiDocument, {
        input: { instance, name, copyToRegions: ['us-west-2'], ssmParameter: '/prism/ssm-env/latest' },
      });
      if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(res.createAmi));
      const id = res.createAmi.creation.id;
      return eventually(async () => {
        const c = (await t.gql(AmiCreationDocument, { id })).amiCreation;
        return c && c.status !== 'IN_PROGRESS' && c.status !== 'PENDING' ? c : undefined;
      }, 30_000);
    };

    const first = await create('ssm env 1');
    expect(first).toMatchObject({ status: 'COMPLETED', failureReason: null });
    expect(await parameterIn('us-east-1', '/prism/ssm-env/latest')).toMatchObject({
      Value: first.amiId,
      DataType: 'aws:ec2:image',
      Version: 1,
    });
    expect((await parameterIn('us-west-2', '/prism/ssm-env/latest'))?.Value).toBe(first.regions[0]!.amiId);

    const second = await create('ssm env 2');
    expect(second.status).toBe('COMPLETED');
    expect(await parameterIn('us-east-1', '/prism/ssm-env/latest')).toMatchObject({ Value: second.amiId, Version: 2 });
  });
});
