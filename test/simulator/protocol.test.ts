import {
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeVolumesCommand,
  GetImageBlockPublicAccessStateCommand,
} from '@aws-sdk/client-ec2';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsCli, expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

const postForm = (url: string, form: Record<string, string>, region = 'us-east-1'): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20261125/${region}/ec2/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body: new URLSearchParams(form).toString(),
  });

describe('EC2 Query protocol', () => {
  it('finds each seeded instance in us-east-1 by its Name tag, with the seeded state, architecture and volumes', async () => {
    const ec2 = h.ec2();
    const byName = async (name: string) => {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
      const instances = out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
      expect(instances).toHaveLength(1);
      return instances[0];
    };
    const demo = await byName('demo-workstation');
    expect(demo).toMatchObject({
      InstanceId: 'i-0a1b2c3d4e5f60001',
      State: { Name: 'running', Code: 16 },
      Architecture: 'x86_64',
    });
    expect(demo?.BlockDeviceMappings).toHaveLength(1);

    const genomics = await byName('genomics-pipeline');
    expect(genomics).toMatchObject({ State: { Name: 'running' }, Architecture: 'arm64' });
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [genomics?.InstanceId ?? ''] }] }),
    );
    expect(volumes.Volumes?.map((v) => v.Size).sort((a = 0, b = 0) => a - b)).toEqual([50, 200]);

    const teaching = await byName('teaching-env');
    expect(teaching).toMatchObject({ State: { Name: 'stopped', Code: 80 }, Architecture: 'x86_64' });
  });

  it('keeps regions apart: the region comes from the SigV4 credential scope and other regions start without instances', async () => {
    const west = await h.ec2('us-west-2').send(new DescribeInstancesCommand({}));
    expect(west.Reservations ?? []).toEqual([]);
    const east = await h.ec2('us-east-1').send(new DescribeInstancesCommand({}));
    expect(east.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(3);
  });

  it('matches filter values with * and ? wildcards, as EC2 does', async () => {
    const ec2 = h.ec2();
    const names = async (value: string) =>
      (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [value] }] }))).Reservations?.flatMap(
        (r) => r.Instances ?? [],
      )
        .map((i) => i.Tags?.find((t) => t.Key === 'Name')?.Value)
        .sort();
    expect(await names('*-env')).toEqual(['teaching-env']);
    expect(await names('demo-workstatio?')).toEqual(['demo-workstation']);
    expect(await names('demo')).toEqual([]);
  });

  it('rejects an unknown filter name with InvalidParameterValue', async () => {
    await expectEc2Error(
      h.ec2().send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })),
      'InvalidParameterValue',
    );
  });

  it('lists the usual commercial regions', async () => {
    const out = await h.ec2().send(new DescribeRegionsCommand({}));
    const names = out.Regions?.map((r) => r.RegionName);
    expect(names).toHaveLength(17);
    expect(names).toEqual(expect.arrayContaining(['us-east-1', 'us-west-2', 'eu-central-1', 'ap-northeast-3', 'sa-east-1']));
  });

  it('answers GetImageBlockPublicAccessState as unblocked by default', async () => {
    const out = await h.ec2().send(new GetImageBlockPublicAccessStateCommand({}));
    expect(out.ImageBlockPublicAccessState).toBe('unblocked');
  });

  it('answers an unknown action with InvalidAction, HTTP 400 and EC2 error XML', async () => {
    const res = await postForm(h.sim.url, { Action: 'LaunchRocket', Version: '2016-11-15' });
    expect(res.status).toBe(400);
    const doc = new XMLParser().parse(await res.text()) as {
      Response: { Errors: { Error: { Code: string; Message: string } }; RequestID: string };
    };
    expect(doc.Response.Errors.Error.Code).toBe('InvalidAction');
    expect(doc.Response.RequestID).toMatch(/[0-9a-f-]{36}/);
  });

  it('answers success in the EC2 namespace with a requestId', async () => {
    const res = await postForm(h.sim.url, { Action: 'DescribeRegions', Version: '2016-11-15', 'RegionName.1': 'eu-west-1' });
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain('<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">');
    expect(xml).toMatch(/<requestId>[0-9a-f-]{36}<\/requestId>/);
    expect(xml).toContain('<regionInfo><item>');
    expect(xml).toContain('<regionName>eu-west-1</regionName>');
  });

  it('reports a missing required parameter as MissingParameter', async () => {
    const res = await postForm(h.sim.url, { Action: 'CreateImage', Version: '2016-11-15', InstanceId: 'i-0a1b2c3d4e5f60001' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<Code>MissingParameter</Code>');
  });

  it('serves the AWS CLI: describe-images --owners self and describe-instances parse as JSON', async () => {
    const images = await awsCli(h.sim, 'us-east-1', ['describe-images', '--owners', 'self']);
    expect(images.code, images.stderr).toBe(0);
    expect(JSON.parse(images.stdout)).toEqual({ Images: [] });

    const instances = await awsCli(h.sim, 'us-east-1', [
      'describe-instances',
      '--filters',
      'Name=instance-state-name,Values=stopped',
    ]);
    expect(instances.code, instances.stderr).toBe(0);
    const parsed = JSON.parse(instances.stdout) as { Reservations: { Instances: { InstanceId: string }[] }[] };
    expect(parsed.Reservations.flatMap((r) => r.Instances.map((i) => i.InstanceId))).toEqual(['i-0a1b2c3d4e5f60003']);
  });

  it('gives the AWS CLI EC2 error codes it can print', async () => {
    const out = await awsCli(h.sim, 'us-east-1', ['describe-images', '--image-ids', 'ami-0123456789abcdef0']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('InvalidAMIID.NotFound');
  });
});
