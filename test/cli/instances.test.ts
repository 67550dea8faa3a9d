// `prism-ami instances` end to end: the real bin against a real server on the in-process simulator,
// listing the instances the token's user owns (tagged prism:owner=tester here).
import { EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstancesDocument } from '../../src/generated/graphql/graphql.js';
import { BASE_IMAGES } from '../../simulator/index.js';
import { eventually, startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { runCli, type CliResult } from './run-cli.js';

let t: TestApp;
let ec2: EC2Client;
let running: string;
let stopped: string;

const cli = (...args: string[]) => runCli([...args, '--url', t.url, '--token', t.token]);

interface InstanceList {
  instances: { edges: { node: { instanceId: string; state: string; sizeGiB: number; owner: string; capturable: boolean } }[] };
}

async function launch(name: string, sizeGiB: number): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: BASE_IMAGES.x86_64,
      MinCount: 1,
      MaxCount: 1,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: sizeGiB } }],
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'Name', Value: name },
            { Key: 'prism:owner', Value: 'tester' },
          ],
        },
      ],
    }),
  );
  return out.Instances![0]!.InstanceId!;
}

/** Waits until the tester's instances are in these states, as the server lists them. */
async function settled(states: Record<string, string>): Promise<void> {
  await eventually(async () => {
    const { instances } = await t.gql(InstancesDocument, {});
    const now = new Map(instances.edges.map((e) => [e.node.instanceId, e.node.state]));
    return Object.entries(states).every(([id, state]) => now.get(id) === state) || undefined;
  }, 30_000);
}

beforeAll(async () => {
  // The seeded instances stay the local user's: the list shows only the two launched here.
  t = await startTestApp({ EC2_BACKEND: 'simulator' }, {}, { seededOwner: null });
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
  running = await launch('cli-running', 20);
  stopped = await launch('cli-stopped', 8);
  await settled({ [running]: 'RUNNING', [stopped]: 'RUNNING' });
  await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped] }));
  await settled({ [stopped]: 'STOPPED' });
});
afterAll(async () => {
  ec2?.destroy();
  await t?.stop();
});

const lines = (r: CliResult) => r.stdout.split('\n');

describe('prism-ami instances', () => {
  it('prints a table of id, name, state, size, storage per month and capturable, for your instances only', async () => {
    const r = await cli('instances');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^2 instances\n\n/);
    expect(lines(r)[2]).toMatch(/^ID +NAME +STATE +SIZE +STORAGE\/MONTH +CAPTURABLE$/);
    expect(r.stdout).toMatch(new RegExp(`^${running} +cli-running +running +20 GiB +\\$1\\.00 +yes$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${stopped} +cli-stopped +stopped +8 GiB +\\$0\\.40 +yes$`, 'm'));
  });

  it('--state stopped --json prints only the stopped instance as the GraphQL data', async () => {
    const r = await cli('instances', '--state', 'stopped', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { instances } = JSON.parse(r.stdout) as InstanceList;
    expect(instances.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ instanceId: stopped, state: 'STOPPED', sizeGiB: 8, owner: 'tester', capturable: true }),
    ]);
  });

  it('--state running prints one row; an unknown state is a usage error naming the states', async () => {
    const r = await cli('instances', '--state', 'RUNNING');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1 instance matching state running\n/);
    expect(r.stdout).toContain(running);
    expect(r.stdout).not.toContain(stopped);
    const bad = await cli('instances', '--state', 'sleeping');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/pending, running, stopping, stopped, shutting-down/);
  });
});
