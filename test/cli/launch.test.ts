// `prism-ami launch` end to end: the real bin against a real server on the in-process simulator,
// launching from an AMI captured from the seeded demo workstation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiCreationDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { runCli } from './run-cli.js';

let t: TestApp;
let amiId: string;

const cli = (...args: string[]) => runCli([...args, '--url', t.url, '--token', t.token], { timeoutMs: 30_000 });

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000' });
  const created = (
    await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'cli launch', noReboot: true } })
  ).createAmi;
  if (created.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(created));
  amiId = await eventually(async () => {
    const c = (await t.gql(AmiCreationDocument, { id: created.creation.id })).amiCreation;
    return c?.status === 'COMPLETED' ? c.amiId! : undefined;
  }, 20_000);
});
afterAll(() => t?.stop());

describe('prism-ami launch', () => {
  it('prints the new instance id and its state, pending', async () => {
    const r = await cli('launch', amiId, '--type', 't3.micro', '--name', 'cli box');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Launched i-[0-9a-f]{17} \\("cli box", pending\\) from ${amiId} in us-east-1\\n$`));
  });

  it('--wait follows it to running and prints the time it took', async () => {
    const r = await cli('launch', amiId, '--type', 't3.micro', '--wait');
    expect(r.code, r.stderr).toBe(0);
    const [first, second] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^Launched (i-[0-9a-f]{17}) \(pending\)/);
    const id = /^Launched (i-[0-9a-f]{17})/.exec(first ?? '')?.[1];
    expect(second).toMatch(new RegExp(`^${id} running in \\d+\\.\\d s \\(launched from ${amiId}\\)$`));
  });

  it('--wait --json prints the launch, then the running instance with the seconds it took', async () => {
    const r = await cli('launch', amiId, '--type', 't3.micro', '--wait', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [launched, running] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(launched).toMatchObject({ launchInstance: { __typename: 'LaunchInstanceSuccess', instance: { state: 'PENDING' } } });
    expect(running).toMatchObject({
      instance: { state: 'RUNNING', owner: 'tester' },
      secondsToRunning: expect.any(Number) as number,
    });
  });

  it('exits 1 with the field errors for a bad instance type, and 1 with the server message for an unknown AMI', async () => {
    const bad = await cli('launch', amiId, '--type', 'huge');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error VALIDATION_FAILED: invalid input\n {2}input\.instanceType: "huge" is not an EC2 instance type/,
    );
    const unknown = await cli('launch', 'ami-0123456789abcdef0', '--type', 't3.micro');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error AMI_NOT_FOUND: No AMI ami-0123456789abcdef0/);
  });

  it('exits 2 without --type, sending nothing', async () => {
    const r = await cli('launch', amiId);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--type/);
  });
});
