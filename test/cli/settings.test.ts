// `prism-ami create` with the image settings of issue 17 end to end: the real bin against a server on the in-process
// simulator. The flags' parsing is unit-tested in options.test.ts; here: what reaches the server, and what a wrong
// command line does before anything is sent.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreationFieldsFragment } from '../../src/generated/graphql/graphql.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { runCli, type CliResult } from './run-cli.js';

let t: TestApp;

// Within EC2's limits for DeprecateAt (in the future, at most 10 years on), whatever year the suite runs in.
const DEPRECATE_AT = `${new Date().getUTCFullYear() + 1}-06-30T12:00`;

const cli = (...args: string[]) => runCli([...args, '--url', t.url, '--token', t.token]);

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

/** A loopback URL nothing listens on: a command that exits 2 there never tried to send its request. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/graphql`;
}

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '50' });
});
afterAll(async () => {
  await t.stop();
});

describe('prism-ami create with image settings', () => {
  it('sends encryption with per-region keys, deprecation, protection, IMDSv2 and the SSM parameter; status shows them', async () => {
    const r = await cli(
      'create',
      'demo-workstation',
      '--name',
      'cli-settings',
      '--region',
      'us-west-2',
      '--kms-key',
      'alias/builds',
      '--region-kms-key',
      'us-west-2=alias/builds-west',
      '--deprecate-at',
      `${DEPRECATE_AT}Z`,
      '--protect',
      '--imds-v2',
      '--ssm-parameter',
      '/prism/cli-settings/latest',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { id } = json<{ createAmi: { creation: CreationFieldsFragment } }>(r).createAmi.creation;

    const status = await cli('status', id, '--json');
    expect(status.code).toBe(0);
    expect(json<{ amiStatus: CreationFieldsFragment }>(status).amiStatus).toMatchObject({
      encryption: { kmsKeyId: 'alias/builds', regionKmsKeyIds: [{ region: 'us-west-2', kmsKeyId: 'alias/builds-west' }] },
      deprecateAt: `${DEPRECATE_AT}:00.000Z`,
      deregistrationProtection: true,
      requireImdsV2: true,
      ssmParameter: '/prism/cli-settings/latest',
    });

    const text = (await cli('status', id)).stdout.split('\n');
    expect(text).toEqual(
      expect.arrayContaining([
        '  Encryption:    alias/builds',
        '                 us-west-2  alias/builds-west',
        `  Deprecates:    ${DEPRECATE_AT}:00.000Z`,
        '  Protection:    deregistration protection on',
        '  IMDSv2:        required',
        '  SSM parameter: /prism/cli-settings/latest',
      ]),
    );
  });

  it('--encrypt alone asks for the AWS managed key, and --deprecate-in 90d sends a time 90 days after the command ran', async () => {
    const before = Date.now();
    const r = await cli('create', 'teaching-env', '--name', 'cli-managed-key', '--encrypt', '--deprecate-in', '90d', '--json');
    const after = Date.now();
    expect(r.code).toBe(0);
    const { creation } = json<{ createAmi: { creation: CreationFieldsFragment } }>(r).createAmi;
    expect(creation.encryption).toEqual({ kmsKeyId: null, regionKmsKeyIds: [] });
    const ninetyDays = 90 * 86_400_000;
    const at = Date.parse(creation.deprecateAt ?? '');
    expect(at).toBeGreaterThanOrEqual(before + ninetyDays - 60_000); // EC2 (and so the server) may round to the minute
    expect(at).toBeLessThanOrEqual(after + ninetyDays + 60_000);
  });

  it('--deprecate-at with --deprecate-in is a usage error (exit 2) naming both flags, and nothing is sent', async () => {
    const r = await runCli([
      'create',
      'demo-workstation',
      '--name',
      'cli-both',
      '--deprecate-at',
      DEPRECATE_AT,
      '--deprecate-in',
      '90d',
      '--url',
      await deadUrl(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--deprecate-in <duration>' cannot be used with option '--deprecate-at <time>'/);
  });

  it('a bad --deprecate-in, --deprecate-at or --region-kms-key value exits 2 naming the flag and the expected form', async () => {
    const url = await deadUrl();
    const run = (...flags: string[]) => runCli(['create', 'demo-workstation', '--name', 'cli-bad', ...flags, '--url', url]);
    const [inBad, atBad, keyBad] = await Promise.all([
      run('--deprecate-in', '3y'),
      run('--deprecate-at', 'next week'),
      run('--region-kms-key', 'alias/builds'),
    ]);
    expect([inBad.code, atBad.code, keyBad.code]).toEqual([2, 2, 2]);
    expect(inBad.stderr).toContain("option '--deprecate-in <duration>' argument '3y' is invalid");
    expect(inBad.stderr).toContain('unit m, h, d or w');
    expect(atBad.stderr).toContain("option '--deprecate-at <time>' argument 'next week' is invalid");
    expect(keyBad.stderr).toContain("option '--region-kms-key <region=key>' argument 'alias/builds' is invalid");
  });
});
