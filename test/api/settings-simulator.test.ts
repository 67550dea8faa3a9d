// Deprecation, deregistration protection, IMDSv2 and the SSM parameter end to end: createAmi through
// yoga against the built-in simulator, which models them as EC2 and SSM do, checked with the EC2 SDK
// and the AWS CLI (`aws ssm get-parameter --endpoint-url …`), then deregisterAmi and protectAmi.
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  CreateAmiDocument,
  DeregisterAmiDocument,
  ProtectAmiDocument,
  UserAmisDocument,
} from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { awsCli } from '../simulator/helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const PARAMETER = '/prism/teaching-env/latest';

async function describeImage(simUrl: string, region: string, imageId: string) {
  const c = new EC2Client({ region, endpoint: simUrl, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  try {
    return (await c.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  } finally {
    c.destroy();
  }
}

describe('image settings on the simulator', () => {
  it('applies every setting to the source and its copy in their regions, writes the SSM parameter in each, and guards deregistration', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', POLL_INTERVAL_MS: '150', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
    const app = t;
    const sim = app.app.simulator!;
    // Whole minutes: EC2 keeps the deprecation time to the minute.
    const deprecateAt = new Date(Math.ceil((Date.now() + 30 * 86_400_000) / 60_000) * 60_000);
    const created = await app.gql(CreateAmiDocument, {
      input: {
        instance: 'teaching-env',
        name: 'all four settings',
        copyToRegions: ['us-west-2'],
        deprecateAt: deprecateAt.toISOString(),
        deregistrationProtection: true,
        requireImdsV2: true,
        ssmParameter: PARAMETER,
      },
    });
    if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(created.createAmi.__typename);
    const id = created.createAmi.creation.id;
    const done = await eventually(async () => {
      const c = (await app.gql(AmiCreationDocument, { id })).amiCreation;
      return c && c.status !== 'IN_PROGRESS' && c.status !== 'PENDING' ? c : undefined;
    });
    expect(done).toMatchObject({ status: 'COMPLETED', failureReason: null });
    const images = [
      { region: 'us-east-1', amiId: done.amiId! },
      { region: 'us-west-2', amiId: done.regions[0]!.amiId! },
    ];

    for (const { region, amiId } of images) {
      const image = await describeImage(sim.url, region, amiId);
      expect(image, region).toMatchObject({ ImdsSupport: 'v2.0' });
      expect(image?.DeregistrationProtection, region).toMatch(/^enabled/);
      expect(Date.parse(image!.DeprecationTime!), region).toBe(deprecateAt.getTime());
      // The gateway reads them back as the service sees them (DeregistrationProtection as a boolean).
      const [seen] = await app.app.deps.ec2.findImages(region, { ids: [amiId] });
      expect(seen, region).toMatchObject({ deregistrationProtection: true, imdsSupport: 'v2.0' });
      expect(Date.parse(seen!.deprecationTime!), region).toBe(deprecateAt.getTime());
      expect(await app.app.deps.ssm.getParameter(region, PARAMETER), region).toMatchObject({ value: amiId });
      const cli = await awsCli(sim, region, ['get-parameter', '--name', PARAMETER], 'ssm');
      expect(cli.code, cli.stderr).toBe(0);
      expect((JSON.parse(cli.stdout) as { Parameter: { Value: string; DataType: string } }).Parameter).toMatchObject({
        Value: amiId,
        DataType: 'aws:ec2:image',
      });
    }
    const listed = (await app.gql(UserAmisDocument, {})).userAmis.edges.map((e) => e.node);
    expect(listed).toHaveLength(2);
    for (const ami of listed) {
      expect(ami).toMatchObject({ deregistrationProtection: true, imdsSupport: 'v2.0', ssmParameter: PARAMETER });
      expect(Date.parse(ami.deprecationTime!)).toBe(deprecateAt.getTime());
    }

    const source = images[0]!.amiId;
    const refused = (await app.gql(DeregisterAmiDocument, { input: { amiId: source } })).deregisterAmi;
    expect(refused).toMatchObject({ __typename: 'InvalidStateError', code: 'AMI_STATE_INVALID' });
    if (refused.__typename !== 'InvalidStateError') throw new Error(refused.__typename);
    expect(refused.message).toContain('deregistration protection');
    expect(refused.message).toContain(`protectAmi(input: { amiId: "${source}", enabled: false })`);
    expect((await describeImage(sim.url, 'us-east-1', source))?.State).toBe('available');

    const lifted = (await app.gql(ProtectAmiDocument, { input: { amiId: source, enabled: false } })).protectAmi;
    expect(lifted).toMatchObject({ __typename: 'ProtectAmiSuccess', ami: { deregistrationProtection: false } });
    expect((await describeImage(sim.url, 'us-east-1', source))?.DeregistrationProtection).toBe('disabled');
    const gone = (await app.gql(DeregisterAmiDocument, { input: { amiId: source } })).deregisterAmi;
    expect(gone).toMatchObject({ __typename: 'DeregisterAmiSuccess', ami: { state: 'DEREGISTERED' } });
  });

  it('refuses a deprecateAt in the past and an SSM name SSM would refuse, before any EC2 call', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', POLL_INTERVAL_MS: '150' });
    const res = await t.gql(CreateAmiDocument, {
      input: {
        instance: 'teaching-env',
        name: 'bad settings',
        deprecateAt: '2020-01-01T00:00:00Z',
        ssmParameter: 'aws-images/latest',
      },
    });
    expect(res.createAmi.__typename).toBe('ValidationError');
    if (res.createAmi.__typename !== 'ValidationError') throw new Error();
    expect(res.createAmi.fieldErrors.map((e) => e.path)).toEqual(['input.deprecateAt', 'input.ssmParameter']);
  });
});
