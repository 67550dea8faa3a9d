// EC2's limit of concurrent copies per destination region (EBS's "Concurrent snapshot copies per
// destination Region" quota, 20 by default): past it CopyImage answers ResourceLimitExceeded to the
// SDK and to the AWS CLI alike; a copy that completes (or is deregistered) frees its slot; a repeated
// ClientToken still answers its copy; the limit comes from --max-concurrent-copies, the options or
// the control surface.
import { CopyImageCommand, CreateImageCommand, DeregisterImageCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONCURRENT_COPIES, SEEDED_INSTANCES } from '../../simulator/index.js';
import { launch, startSimulatorProcess, type SimulatorProcess } from '../tracking/processes.js';
import { awsCli, expectEc2Error, startHarness, type Harness } from './helpers.js';

let h: Harness | undefined;
let proc: SimulatorProcess | undefined;
afterEach(async () => {
  await h?.stop();
  await proc?.stop();
  h = undefined;
  proc = undefined;
});

/** A simulator with the limit, and an available source image in us-east-1 (30 GiB at 1 GiB/s). */
async function withSource(maxConcurrentCopies?: number) {
  h = await startHarness({ speedGiBPerSecond: 1, ...(maxConcurrentCopies ? { maxConcurrentCopies } : {}) });
  const east = h.ec2('us-east-1');
  const { ImageId } = await east.send(
    new CreateImageCommand({ InstanceId: SEEDED_INSTANCES['demo-workstation'], Name: 'copy-source' }),
  );
  h.advance(30);
  return { h, source: ImageId ?? '', west: h.ec2('us-west-2') };
}

const copy = (client: EC2Client, source: string, name: string, token?: string) =>
  client.send(
    new CopyImageCommand({
      SourceRegion: 'us-east-1',
      SourceImageId: source,
      Name: name,
      ...(token ? { ClientToken: token } : {}),
    }),
  );

describe('the limit of concurrent copies per destination region', () => {
  it('answers ResourceLimitExceeded (HTTP 400) past the limit, naming it and the region', async () => {
    const { source, west } = await withSource(2);
    await copy(west, source, 'copy-1');
    await copy(west, source, 'copy-2');
    const err = await expectEc2Error(copy(west, source, 'copy-3'), 'ResourceLimitExceeded', 400);
    expect(err.message).toBe(
      'You have reached the maximum number of concurrent AMI copies (2) to us-west-2. Wait for a copy in progress to complete, then try again.',
    );
    // Another destination region has slots of its own.
    await copy(h!.ec2('eu-west-1'), source, 'copy-3');
    const stats = await h!.control('GET', '/_simulator/stats');
    expect(stats.json).toMatchObject({ errors: { ResourceLimitExceeded: 1 } });
  });

  it('gives the AWS CLI the same ResourceLimitExceeded', async () => {
    const { h, source, west } = await withSource(1);
    await copy(west, source, 'copy-1');
    const args = ['copy-image', '--source-region', 'us-east-1', '--source-image-id', source, '--name', 'copy-2'];
    const out = await awsCli(h.sim, 'us-west-2', args);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('(ResourceLimitExceeded) when calling the CopyImage operation');
    expect(out.stderr).toContain('maximum number of concurrent AMI copies (1) to us-west-2');
  });

  it('frees a slot when a copy completes, and when one is deregistered', async () => {
    const { h, source, west } = await withSource(1);
    const first = await copy(west, source, 'copy-1');
    await expectEc2Error(copy(west, source, 'copy-2'), 'ResourceLimitExceeded');
    h.advance(30);
    const second = await copy(west, source, 'copy-2');
    await expectEc2Error(copy(west, source, 'copy-3'), 'ResourceLimitExceeded');
    await west.send(new DeregisterImageCommand({ ImageId: second.ImageId }));
    await copy(west, source, 'copy-3');
    expect(first.ImageId).not.toBe(second.ImageId);
  });

  it('answers a repeated ClientToken with its copy even when the region is full', async () => {
    const { source, west } = await withSource(1);
    const first = await copy(west, source, 'copy-1', 'token-1');
    const again = await copy(west, source, 'copy-1', 'token-1');
    expect(again.ImageId).toBe(first.ImageId);
    await expectEc2Error(copy(west, source, 'copy-2', 'token-2'), 'ResourceLimitExceeded');
  });

  it("defaults to EBS's quota of 20, and can be changed on the control surface", async () => {
    const { h, source, west } = await withSource();
    expect(DEFAULT_MAX_CONCURRENT_COPIES).toBe(20);
    expect((await h.control('GET', '/_simulator/config')).json).toMatchObject({ maxConcurrentCopies: 20 });
    for (let i = 1; i <= 20; i++) await copy(west, source, `copy-${i}`);
    await expectEc2Error(copy(west, source, 'copy-21'), 'ResourceLimitExceeded');

    expect(await h.control('POST', '/_simulator/config', { maxConcurrentCopies: 21 })).toMatchObject({
      status: 200,
      json: { maxConcurrentCopies: 21 },
    });
    await copy(west, source, 'copy-21');
    expect((await h.control('POST', '/_simulator/config', { maxConcurrentCopies: 0 })).status).toBe(400);
  });

  it('refuses a limit that is not a whole number of at least 1', async () => {
    await expect(startHarness({ maxConcurrentCopies: 0 })).rejects.toThrow(
      'simulator maxConcurrentCopies must be a whole number of at least 1, got 0',
    );
  });
});

describe('--max-concurrent-copies', () => {
  it('sets the limit of the standalone simulator', async () => {
    proc = await startSimulatorProcess(['--max-concurrent-copies', '3']);
    const config = (await (await fetch(`${proc.url}/_simulator/config`)).json()) as { maxConcurrentCopies: number };
    expect(config.maxConcurrentCopies).toBe(3);
  });

  it('stops the standalone simulator with a message on a bad value', async () => {
    await expect(
      launch(['simulator/main.ts', '--port', '0', '--max-concurrent-copies', 'many'], {}, /listening/, 'the simulator'),
    ).rejects.toThrow("--max-concurrent-copies must be a number, got 'many'");
    await expect(
      launch(['simulator/main.ts', '--port', '0', '--max-concurrent-copies', '1.5'], {}, /listening/, 'the simulator'),
    ).rejects.toThrow('maxConcurrentCopies must be a whole number of at least 1, got 1.5');
  });
});
