import { CreateImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { awsCli, expectEc2Error, startHarness, START, type Harness } from './helpers.js';

let h: Harness;
let ec2: EC2Client;
let ssm: SSMClient;
let imageId: string;
const clients: SSMClient[] = [];

const ssmClient = (region: string): SSMClient => {
  const client = new SSMClient({
    region,
    endpoint: h.sim.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

beforeEach(async () => {
  h = await startHarness({ speedGiBPerSecond: 1 });
  ec2 = h.ec2('us-east-1');
  ssm = ssmClient('us-east-1');
  const out = await ec2.send(new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'ssm-image' }));
  imageId = out.ImageId ?? '';
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await h.stop();
});

const put = (input: Partial<PutParameterCommandInput>) =>
  ssm.send(new PutParameterCommand({ Name: '/prism/test', Value: 'v', Type: 'String', ...input }));

describe('SSM PutParameter and GetParameter over the JSON protocol', () => {
  it('stores a parameter at version 1 and answers it with its ARN, DataType and LastModifiedDate', async () => {
    const out = await put({ Name: '/prism/images/latest', Value: imageId, DataType: 'aws:ec2:image' });
    expect(out).toMatchObject({ Version: 1, Tier: 'Standard' });
    const got = await ssm.send(new GetParameterCommand({ Name: '/prism/images/latest' }));
    expect(got.Parameter).toEqual({
      Name: '/prism/images/latest',
      Type: 'String',
      Value: imageId,
      Version: 1,
      LastModifiedDate: new Date(START),
      ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/prism/images/latest',
      DataType: 'aws:ec2:image',
    });
  });

  it('refuses a second put without Overwrite with ParameterAlreadyExists, and overwrites with it, incrementing Version', async () => {
    await put({ Value: 'one' });
    await expectEc2Error(put({ Value: 'two' }), 'ParameterAlreadyExists');
    h.advance(5);
    expect(await put({ Value: 'two', Overwrite: true })).toMatchObject({ Version: 2 });
    const got = await ssm.send(new GetParameterCommand({ Name: '/prism/test' }));
    expect(got.Parameter).toMatchObject({ Value: 'two', Version: 2, LastModifiedDate: new Date(START + 5000) });
  });

  it('answers ParameterNotFound for a missing name, on GetParameter and DeleteParameter', async () => {
    await expectEc2Error(ssm.send(new GetParameterCommand({ Name: '/nope' })), 'ParameterNotFound');
    await expectEc2Error(ssm.send(new DeleteParameterCommand({ Name: '/nope' })), 'ParameterNotFound');
  });

  it('keeps parameters per region', async () => {
    await put({});
    await expectEc2Error(ssmClient('us-west-2').send(new GetParameterCommand({ Name: '/prism/test' })), 'ParameterNotFound');
  });

  it('deletes a parameter', async () => {
    await put({});
    await ssm.send(new DeleteParameterCommand({ Name: '/prism/test' }));
    await expectEc2Error(ssm.send(new GetParameterCommand({ Name: '/prism/test' })), 'ParameterNotFound');
  });

  it('lists the missing names of GetParameters in InvalidParameters', async () => {
    await put({ Name: '/a/one', Value: '1' });
    const out = await ssm.send(new GetParametersCommand({ Names: ['/a/one', '/a/two'] }));
    expect(out.Parameters?.map((p) => [p.Name, p.Value])).toEqual([['/a/one', '1']]);
    expect(out.InvalidParameters).toEqual(['/a/two']);
  });

  it('lists a path with GetParametersByPath, one level or recursively, in pages', async () => {
    for (const name of ['/app/a', '/app/b', '/app/deep/c', '/other/d']) await put({ Name: name });
    const direct = await ssm.send(new GetParametersByPathCommand({ Path: '/app' }));
    expect(direct.Parameters?.map((p) => p.Name)).toEqual(['/app/a', '/app/b']);
    const first = await ssm.send(new GetParametersByPathCommand({ Path: '/app/', Recursive: true, MaxResults: 2 }));
    expect(first.Parameters?.map((p) => p.Name)).toEqual(['/app/a', '/app/b']);
    const second = await ssm.send(
      new GetParametersByPathCommand({ Path: '/app/', Recursive: true, MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(second.Parameters?.map((p) => p.Name)).toEqual(['/app/deep/c']);
    expect(second.NextToken).toBeUndefined();
  });

  it('hides a SecureString value unless WithDecryption', async () => {
    await put({ Type: 'SecureString', Value: 'secret' });
    expect((await ssm.send(new GetParameterCommand({ Name: '/prism/test' }))).Parameter?.Value).not.toBe('secret');
    const decrypted = await ssm.send(new GetParameterCommand({ Name: '/prism/test', WithDecryption: true }));
    expect(decrypted.Parameter?.Value).toBe('secret');
  });
});

describe('SSM validation', () => {
  it.each([
    ['awsParameter', 'ValidationException'],
    ['/SSM/x', 'ValidationException'],
    ['/aws/reserved/x', 'AccessDeniedException'],
    ['has space', 'ValidationException'],
    ['bad*char', 'ValidationException'],
    ['no/leading/slash', 'ValidationException'],
    [`/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`, 'HierarchyLevelLimitExceededException'],
    [`/${'x'.repeat(1000)}`, 'ValidationException'],
  ])('refuses the name %s with %s', async (name, code) => {
    await expectEc2Error(put({ Name: name }), code);
  });

  it('accepts a name of letters, digits, _ . - and a hierarchy of 15 levels, trimming surrounding spaces', async () => {
    await put({ Name: `/${Array.from({ length: 15 }, (_, i) => `L-${i}_x.y`).join('/')}` });
    await put({ Name: '  plain_Name-1.0  ' });
    expect((await ssm.send(new GetParameterCommand({ Name: 'plain_Name-1.0' }))).Parameter?.Name).toBe('plain_Name-1.0');
  });

  it('refuses an aws:ec2:image value that is not an AMI id, or an AMI that is not in the region', async () => {
    await expectEc2Error(put({ Value: 'not-an-ami', DataType: 'aws:ec2:image' }), 'ValidationException');
    await expectEc2Error(put({ Value: 'ami-0123456789abcdef0', DataType: 'aws:ec2:image' }), 'ValidationException');
    const west = ssmClient('us-west-2');
    const other = west.send(new PutParameterCommand({ Name: '/x', Value: imageId, Type: 'String', DataType: 'aws:ec2:image' }));
    await expectEc2Error(other, 'ValidationException');
  });

  it('refuses an unknown DataType, a missing Type on creation and an empty value', async () => {
    await expectEc2Error(put({ DataType: 'AWS:EC2:IMAGE' }), 'ValidationException');
    await expectEc2Error(put({ Type: undefined }), 'ValidationException');
    await expectEc2Error(put({ Value: '' }), 'ValidationException');
  });
});

describe('SSM protocol', () => {
  const post = (target: string, body: string) =>
    fetch(h.sim.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target,
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20261125/eu-west-1/ssm/aws4_request, SignedHeaders=host, Signature=00',
      },
      body,
    });

  it('answers JSON errors with __type and HTTP 400 for an unknown operation and a body that is not JSON', async () => {
    const unknown = await post('AmazonSSM.SendCommand', '{}');
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
    const garbled = await post('AmazonSSM.GetParameter', '{not json');
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ __type: 'SerializationException' });
  });

  it('takes the region from the ssm credential scope and answers timestamps as epoch seconds', async () => {
    const put = await post('AmazonSSM.PutParameter', JSON.stringify({ Name: 'scoped', Value: 'x', Type: 'String' }));
    expect(await put.json()).toEqual({ Version: 1, Tier: 'Standard' });
    const got = (await (await post('AmazonSSM.GetParameter', JSON.stringify({ Name: 'scoped' }))).json()) as {
      Parameter: { ARN: string; LastModifiedDate: number };
    };
    expect(got.Parameter.ARN).toBe('arn:aws:ssm:eu-west-1:123456789012:parameter/scoped');
    expect(got.Parameter.LastModifiedDate).toBe(START / 1000);
  });
});

describe('SSM with the AWS CLI', () => {
  it('aws ssm put-parameter and get-parameter --endpoint-url work against the simulator', async () => {
    const putOut = await awsCli(
      h.sim,
      'us-east-1',
      ['put-parameter', '--name', '/prism/ami', '--value', imageId, '--type', 'String', '--data-type', 'aws:ec2:image'],
      'ssm',
    );
    expect(putOut.code, putOut.stderr).toBe(0);
    expect(JSON.parse(putOut.stdout)).toMatchObject({ Version: 1 });
    const got = await awsCli(h.sim, 'us-east-1', ['get-parameter', '--name', '/prism/ami'], 'ssm');
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      Parameter: { Name: '/prism/ami', Value: imageId, Version: 1, DataType: 'aws:ec2:image', Type: 'String' },
    });
  });

  it('prints ParameterNotFound for a missing parameter', async () => {
    const out = await awsCli(h.sim, 'us-east-1', ['get-parameter', '--name', '/missing'], 'ssm');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('ParameterNotFound');
  });
});
