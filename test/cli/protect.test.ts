// `prism-ami protect` end to end: the real bin against a server on the in-process simulator, which models EC2's
// deregistration protection (EnableImageDeregistrationProtection, DisableImageDeregistrationProtection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiCreationDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { runCli, type CliResult } from './run-cli.js';

let t: TestApp;

const cli = (...args: string[]) => runCli([...args, '--url', t.url, '--token', t.token]);

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '50' });
});
afterAll(async () => {
  await t.stop();
});

describe('prism-ami protect', () => {
  it('protect turns the protection on, delete then exits 1 with the reason and the way out, protect --off lets delete through', async () => {
    const data = await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name: 'cli-protect' } });
    if (data.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(data.createAmi)}`);
    const { id } = data.createAmi.creation;
    const done = await eventually(async () => {
      const c = (await t.gql(AmiCreationDocument, { id })).amiCreation;
      return c?.status === 'COMPLETED' && c.amiId ? c : undefined;
    });
    const amiId = done.amiId ?? '';

    const on = await cli('protect', amiId, '--json');
    expect(on.code).toBe(0);
    expect(json(on)).toMatchObject({
      protectAmi: { __typename: 'ProtectAmiSuccess', ami: { amiId, deregistrationProtection: true } },
    });
    const list = await cli('list', '--name-contains', 'cli-protect');
    expect(list.stdout.split('\n')).toContain('  Protected:     yes (prism-ami protect --off lifts it)');

    const refused = await cli('delete', amiId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error [A-Z_]+: AMI ami-[0-9a-f]+ has deregistration protection on/);
    expect(refused.stderr).toContain(`prism-ami protect ${amiId} --off`);

    const off = await cli('protect', amiId, '--off');
    expect(off.code).toBe(0);
    expect(off.stdout).toBe(`Deregistration protection is off for ${amiId} in ${done.sourceRegion}: it can be deleted again\n`);
    const deleted = await cli('delete', amiId);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/^Deregistered ami-[0-9a-f]+ \("cli-protect"\)/);
  });
});
