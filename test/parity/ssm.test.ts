// Parity: SSM Parameter Store (PutParameter, GetParameter, GetParameters, DeleteParameter) the same on
// the simulator and on moto, through the real @aws-sdk/client-ssm on the same endpoint as EC2.
//
// Moto 5.2.1 lacks the EC2 image features of issue 17: image deprecation (EnableImageDeprecation,
// DeprecationTime), deregistration protection (EnableImageDeregistrationProtection, the refused
// DeregisterImage), ImdsSupport, and encrypted copies (CopyImage Encrypted/KmsKeyId on the snapshots).
// Those are checked against the simulator only: the "[simulator only: moto 5.2.1 lacks …]" scenario in
// simulator-only.test.ts, and test/simulator/image-settings.test.ts (with the AWS CLI as a second client).
//
// Where moto differs from real SSM, the test says so and holds the simulator to SSM's documented
// behaviour: moto accepts any characters in a name, any depth of hierarchy, and any value for the
// aws:ec2:image data type (SSM checks the format `ami-…` at once and the image asynchronously).
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, BACKENDS, expectEc2Error, LAUNCH_IMAGE_ID, type Backend } from './backends.js';

describe.each(BACKENDS)('SSM parameters on $name', ({ name, start }) => {
  let b: Backend;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });
  beforeEach(async () => {
    await b.reset();
  });

  const put = (input: Partial<PutParameterCommandInput>) =>
    b.ssm().send(new PutParameterCommand({ Name: '/parity/p', Value: 'one', Type: 'String', ...input }));
  const get = (paramName = '/parity/p') => b.ssm().send(new GetParameterCommand({ Name: paramName }));

  it('puts a parameter at version 1 and gets it with its type, data type text and ARN', async () => {
    expect((await put({})).Version).toBe(1);
    const p = (await get()).Parameter;
    expect(p).toMatchObject({
      Name: '/parity/p',
      Type: 'String',
      Value: 'one',
      Version: 1,
      DataType: 'text',
      ARN: `arn:aws:ssm:us-east-1:${ACCOUNT_ID}:parameter/parity/p`,
    });
    expect(p?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('overwrites with Overwrite, incrementing the version', async () => {
    await put({});
    expect((await put({ Value: 'two', Overwrite: true })).Version).toBe(2);
    expect((await get()).Parameter).toMatchObject({ Value: 'two', Version: 2 });
  });

  it('refuses a second put without Overwrite with ParameterAlreadyExists, keeping the value', async () => {
    await put({});
    await expectEc2Error(put({ Value: 'two' }), 'ParameterAlreadyExists');
    expect((await get()).Parameter?.Value).toBe('one');
  });

  it('answers ParameterNotFound for a missing parameter, and after DeleteParameter', async () => {
    await expectEc2Error(get('/parity/missing'), 'ParameterNotFound');
    await put({});
    await b.ssm().send(new DeleteParameterCommand({ Name: '/parity/p' }));
    await expectEc2Error(get(), 'ParameterNotFound');
    await expectEc2Error(b.ssm().send(new DeleteParameterCommand({ Name: '/parity/p' })), 'ParameterNotFound');
  });

  it('lists unknown names of GetParameters in InvalidParameters', async () => {
    await put({});
    const out = await b.ssm().send(new GetParametersCommand({ Names: ['/parity/p', '/parity/absent'] }));
    expect(out.Parameters?.map((p) => p.Name)).toEqual(['/parity/p']);
    expect(out.InvalidParameters).toEqual(['/parity/absent']);
  });

  it('keeps parameters per region', async () => {
    await put({});
    await expectEc2Error(b.ssm('us-west-2').send(new GetParameterCommand({ Name: '/parity/p' })), 'ParameterNotFound');
  });

  it.each([
    ['awsPrefixed', 'ValidationException'],
    ['SSM-prefixed', 'ValidationException'],
    ['/ssm/prefixed/path', 'ValidationException'],
    ['/aws/reserved/path', 'AccessDeniedException'],
  ])('refuses the name %s with %s', async (paramName, code) => {
    await expectEc2Error(put({ Name: paramName }), code);
  });

  it('refuses a missing Type on creation and an unknown DataType with ValidationException', async () => {
    await expectEc2Error(put({ Type: undefined }), 'ValidationException');
    await expectEc2Error(put({ DataType: 'AWS:EC2:IMAGE' }), 'ValidationException');
  });

  it('stores an AMI id with DataType aws:ec2:image', async () => {
    await put({ Value: LAUNCH_IMAGE_ID, DataType: 'aws:ec2:image' });
    expect((await get()).Parameter).toMatchObject({ Value: LAUNCH_IMAGE_ID, DataType: 'aws:ec2:image', Type: 'String' });
  });

  // moto accepts these (no character, depth or AMI-format checks) where SSM refuses them: on moto the
  // test holds that gap, so a moto that starts checking shows up here.
  const refusedBySsm = async (call: Promise<unknown>, code: string): Promise<void> => {
    if (name === 'moto') await call;
    else await expectEc2Error(call, code);
  };

  it('refuses characters outside a-zA-Z0-9_.-/ and more than 15 levels (moto accepts both)', async () => {
    await refusedBySsm(put({ Name: '/parity/with space' }), 'ValidationException');
    await refusedBySsm(put({ Name: '/parity/star*' }), 'ValidationException');
    await refusedBySsm(
      put({ Name: `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}` }),
      'HierarchyLevelLimitExceededException',
    );
  });

  it('refuses an aws:ec2:image value that is not an AMI id (moto stores it)', async () => {
    await refusedBySsm(put({ Value: 'not-an-ami', DataType: 'aws:ec2:image' }), 'ValidationException');
  });
});
