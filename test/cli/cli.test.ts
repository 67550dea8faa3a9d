// The prism-ami command end to end: the real bin (tsx), a real server on the in-process EC2
// simulator, over HTTP and graphql-ws. Each spawn costs ~0.5 s of start-up, so each test checks
// several things about one invocation.
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiCreationDocument,
  CreateAmiDocument,
  UserAmisDocument,
  type CreationFieldsFragment,
} from '../../src/generated/graphql/graphql.js';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { cleanEnv, collect, runCli, startCli, type CliResult } from './run-cli.js';

interface AmiList {
  userAmis?: {
    totalCount: number;
    edges: { node: { amiId: string; region: string; visibility: string; tags: { key: string; value: string }[] } }[];
  };
  communityAmis?: { edges: { node: { amiId: string } }[] };
}

let t: TestApp;
let completed: CreationFieldsFragment; // from the `create --wait` test, reused by the read commands

const cli = (...args: string[]) => runCli([...args, '--url', t.url, '--token', t.token]);
const ESC = '\u001b';

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

/** Start a creation in-process (no spawn) and return its id. */
async function startCreation(instance: string, name: string): Promise<string> {
  const data = await t.gql(CreateAmiDocument, { input: { instance, name } });
  if (data.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(`createAmi failed: ${JSON.stringify(data.createAmi)}`);
  return data.createAmi.creation.id;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '50' });
});
afterAll(async () => {
  await t.stop();
});

describe('prism-ami create', () => {
  it('create --wait follows the creation to COMPLETED with plain progress lines and exits 0', async () => {
    const r = await cli(
      'create',
      'demo-workstation',
      '--name',
      'cli-wait',
      '--description',
      'from the CLI test',
      '--tag',
      'team=bio',
      '--region',
      'us-west-2',
      '--wait',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC); // piped: no cursor movement
    expect(r.stdout).toMatch(/^Creating AMI "cli-wait" from i-[0-9a-f]+ \(creation [0-9a-f-]+\)$/m);
    expect(r.stdout).toMatch(/^\[100%\] DONE/m);
    expect(r.stdout).toMatch(/^COMPLETED: ami-[0-9a-f]+ \(cli-wait\) in /m);
    expect(r.stdout).toMatch(/^ {2}us-west-2 {2}COMPLETED 100% {2}ami-[0-9a-f]+/m);
    expect(r.stdout).toMatch(/^Storage cost: \$\d+\.\d{2}\/month; creation cost: \$\d+\.\d{2,3}$/m);

    const id = /\(creation ([0-9a-f-]+)\)/.exec(r.stdout)?.[1];
    const status = await cli('status', id ?? 'missing', '--json');
    expect(status.code).toBe(0);
    completed = json<{ amiStatus: CreationFieldsFragment }>(status).amiStatus;
    expect(completed).toMatchObject({
      id,
      name: 'cli-wait',
      status: 'COMPLETED',
      progress: 100,
      tags: [{ key: 'team', value: 'bio' }],
    });
    expect(completed.regions).toEqual([expect.objectContaining({ region: 'us-west-2', status: 'COMPLETED' })]);
  });

  it('create without --wait returns at once with the new, unfinished creation as JSON and exit 0', async () => {
    const r = await cli('create', 'teaching-env', '--name', 'cli-nowait', '--no-reboot', '--json');
    expect(r.code).toBe(0);
    const data = json<{ createAmi: { __typename: string; creation: CreationFieldsFragment } }>(r);
    expect(data.createAmi.__typename).toBe('CreateAmiSuccess');
    expect(data.createAmi.creation).toMatchObject({ name: 'cli-nowait', noReboot: true, public: false });
    expect(['PENDING', 'IN_PROGRESS']).toContain(data.createAmi.creation.status);
  });

  it('create --template --keep-latest asks for the retention, and the server refuses one out of range by its path', async () => {
    const r = await cli(
      'create',
      'teaching-env',
      '--name',
      'cli-keep',
      '--template',
      'cli-keep-t',
      '--keep-latest',
      '2',
      '--json',
    );
    expect(r.code).toBe(0);
    const data = json<{ createAmi: { creation: CreationFieldsFragment } }>(r);
    expect(data.createAmi.creation).toMatchObject({ templateName: 'cli-keep-t', retention: { keepLatest: 2 } });

    const bad = await cli('create', 'teaching-env', '--name', 'cli-keep-0', '--keep-latest', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error VALIDATION_FAILED: /);
    expect(bad.stderr).toContain('input.retention.keepLatest: must be between 1 and 100 (got 0)');
    expect(bad.stderr).toContain('input.retention: set templateName');
  });

  it("an unknown instance exits 1 with the server's INSTANCE_NOT_FOUND error on stderr, and --json still prints the typed error data", async () => {
    const r = await cli('create', 'no-such-instance', '--name', 'cli-missing', '--json');
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({ createAmi: { __typename: 'NotFoundError', code: 'INSTANCE_NOT_FOUND' } });
    expect(r.stderr).toMatch(/^error INSTANCE_NOT_FOUND: .*no-such-instance/);
  });

  it('invalid input exits 1 with VALIDATION_FAILED and one line per offending field path', async () => {
    const r = await cli('create', 'demo-workstation', '--name', 'x', '--region', 'nowhere-1', '--share', '123');
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error VALIDATION_FAILED: /);
    expect(
      lines
        .slice(1)
        .map((l) => l.trim().split(':')[0])
        .sort(),
    ).toEqual(['input.copyToRegions.0', 'input.name', 'input.shareWithAccounts.0']);
  });

  it('a malformed --tag is a usage error (exit 2) reported before any request is sent', async () => {
    // The URL has nothing listening: exit 2 rather than 3 shows the request was never attempted.
    const r = await runCli([
      'create',
      'demo-workstation',
      '--name',
      'cli-tag',
      '--tag',
      'novalue',
      '--url',
      `http://127.0.0.1:${await closedPort()}/graphql`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--tag <key=value>' argument 'novalue' is invalid");
  });
});

describe('prism-ami status and watch', () => {
  it('status by AMI id prints the readable summary: ids, status with percent, timing, copies and costs', async () => {
    const r = await cli('status', completed.amiId ?? 'missing');
    expect(r.code).toBe(0);
    for (const line of [
      `AMI creation ${completed.id}`,
      `  AMI ID:        ${completed.amiId}`,
      '  Name:          cli-wait',
      '  Description:   from the CLI test',
      '  Status:        COMPLETED (100% complete, stage DONE)',
      '  Tags:          team=bio',
    ]) {
      expect(r.stdout.split('\n')).toContain(line);
    }
    expect(r.stdout).toMatch(/^ {2}Progress: {6}.* - \d+s elapsed$/m);
    expect(r.stdout).toMatch(/^ {2}Copies: {8}us-west-2 {2}COMPLETED 100%/m);
    expect(r.stdout).toMatch(/^ {2}Storage cost: {2}\$\d+\.\d{2}\/month \(30 GiB\)$/m);
    expect(r.stdout).toMatch(/^ {2}Creation cost: \$\d/m);
  });

  it('status of an unknown reference exits 1 with CREATION_NOT_FOUND, and --json still prints the null data', async () => {
    const r = await cli('status', 'ami-0000000000000dead', '--json');
    expect(r.code).toBe(1);
    expect(json(r)).toEqual({ amiStatus: null });
    expect(r.stderr).toMatch(/^error CREATION_NOT_FOUND: .*ami-0000000000000dead/);
  });

  it('watch on a pipe prints one plain line per change with a never-decreasing percent, then COMPLETED, exit 0', async () => {
    // 250 GiB at 50 GiB/s: a few seconds of snapshot progress to watch.
    const id = await startCreation('genomics-pipeline', 'cli-watch');
    const r = await cli('watch', id);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const percents = [...r.stdout.matchAll(/^\[\s*(\d+)%\] /gm)].map((m) => Number(m[1]));
    expect(percents.length).toBeGreaterThanOrEqual(3);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents[0]).toBeLessThan(100);
    expect(percents.at(-1)).toBe(100);
    expect(new Set(r.stdout.split('\n').filter((l) => l.startsWith('[')))).toHaveProperty('size', percents.length); // no repeated line
    expect(r.stdout).toMatch(/^COMPLETED: ami-[0-9a-f]+ \(cli-watch\)/m);
  });

  it('watch --json of a finished creation prints its state as one JSON line and exits 0', async () => {
    const r = await cli('watch', completed.id, '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const value = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['amiProgress']);
    expect(value).toMatchObject({ amiProgress: { id: completed.id, status: 'COMPLETED', progress: 100 } });
  });

  it('Ctrl-C stops watching with exit 130 and a resume hint, and the creation goes on', async () => {
    const id = await startCreation('genomics-pipeline', 'cli-interrupt');
    const child = startCli(['watch', id, '--url', t.url, '--token', t.token]);
    const result = collect(child, 20_000);
    let seen = '';
    child.stdout?.on('data', (chunk: string) => (seen += chunk));
    await eventually(() => (/^\[\s*\d+%\]/m.test(seen) ? true : undefined), 10_000, 50);
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Stopped watching. Creation ${id} goes on`);
    expect(r.stderr).toContain(`resume with: prism-ami watch ${id}`);
    const after = await t.gql(AmiCreationDocument, { id });
    expect(after.amiCreation?.status).toMatch(/^(PENDING|IN_PROGRESS|COMPLETED)$/);
  });
});

describe('prism-ami cancel', () => {
  it("cancel ends an unfinished creation as CANCELLED; cancelling it again exits 1 with the server's code", async () => {
    const id = await startCreation('genomics-pipeline', 'cli-cancel');
    const first = await cli('cancel', id, '--json');
    expect(first.code).toBe(0);
    expect(json(first)).toMatchObject({
      cancelAmiCreation: { __typename: 'CancelAmiCreationSuccess', creation: { id, status: 'CANCELLED' } },
    });
    const again = await cli('cancel', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error [A-Z_]+: .*/);
    expect(again.stderr).toContain(id);
  });
});

describe('prism-ami list, publish, share, delete', () => {
  it('list --tag --json returns only the matching AMIs, one per region, as the GraphQL data', async () => {
    const r = await cli('list', '--tag', 'team=bio', '--json');
    expect(r.code).toBe(0);
    const { userAmis } = json<AmiList>(r);
    expect(userAmis?.edges.map((e) => e.node.region).sort()).toEqual(['us-east-1', 'us-west-2']);
    expect(userAmis?.edges.every((e) => e.node.tags.some((tag) => tag.key === 'team' && tag.value === 'bio'))).toBe(true);
    expect(userAmis?.totalCount).toBe(2);
  });

  it('list prints a readable block per AMI (id, name, description, architecture, created, visibility)', async () => {
    const r = await cli('list', '--region', 'us-east-1', '--tag', 'team=bio');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 AMI matching tag team=bio, region us-east-1$/m);
    expect(r.stdout).toContain(
      `  ID:            ${completed.amiId}\n  Name:          cli-wait\n  Description:   from the CLI test\n  Architecture:  x86_64`,
    );
    expect(r.stdout).toMatch(/^ {2}Created: {7}\d{4}-\d\d-\d\dT/m);
    expect(r.stdout).toMatch(/^ {2}Visibility: {4}PRIVATE$/m);
  });

  it('publish lists the AMI in list --community; publish --private takes it out again', async () => {
    const amiId = completed.amiId ?? 'missing';
    const pub = await cli('publish', amiId);
    expect(pub.code).toBe(0);
    expect(pub.stdout).toContain(`Published ${amiId} to the community (PUBLIC)`);
    const listed = json<AmiList>(await cli('list', '--community', '--json'));
    expect(listed.communityAmis?.edges.map((e) => e.node.amiId)).toContain(amiId);

    const priv = await cli('publish', amiId, '--private', '--json');
    expect(priv.code).toBe(0);
    expect(json(priv)).toMatchObject({ publishAmi: { __typename: 'PublishAmiSuccess', ami: { amiId, visibility: 'PRIVATE' } } });
  });

  it('share with a malformed account id exits 1 naming the field path', async () => {
    const r = await cli('share', completed.amiId ?? 'missing', '123456789012', '12');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error VALIDATION_FAILED: /);
    expect(r.stderr).toMatch(/^ {2}input\.accountIds\.1: /m);
  });

  it("delete --keep-snapshots deregisters one region's copy and leaves the source AMI available; an unknown AMI exits 1", async () => {
    const copy = completed.regions[0]?.amiId ?? 'missing';
    const r = await cli('delete', copy, '--keep-snapshots', '--json');
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({
      deregisterAmi: { __typename: 'DeregisterAmiSuccess', ami: { amiId: copy, region: 'us-west-2', state: 'DEREGISTERED' } },
    });
    const left = await t.gql(UserAmisDocument, { filter: { nameContains: 'cli-wait' } });
    expect(left.userAmis.edges.map((e) => [e.node.region, e.node.state]).sort()).toEqual([
      ['us-east-1', 'AVAILABLE'],
      ['us-west-2', 'DEREGISTERED'],
    ]);
    const missing = await cli('delete', 'ami-00000000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error AMI_NOT_FOUND: /);
  });
});

describe('prism-ami connection and credentials', () => {
  it('with no server at the URL, exits 3 with a one-line hint naming the URL and npm start', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/graphql`;
    const r = await runCli(['list', '--url', url]);
    expect(r.code).toBe(3);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot reach the prism-ami server at ${url}`);
    expect(lines[0]).toContain('npm start');
  });

  it('takes the URL and token from PRISM_AMI_URL and PRISM_AMI_TOKEN, from any working directory', async () => {
    const r = await runCli(['list', '--json'], {
      env: cleanEnv({ PRISM_AMI_URL: t.url, PRISM_AMI_TOKEN: t.token }),
      cwd: tmpdir(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(json<AmiList>(r).userAmis?.totalCount).toBeGreaterThan(0);
  });

  it("an unknown token exits 1 with the server's authentication error", async () => {
    const r = await runCli(['list', '--url', t.url, '--token', 'pam_not-a-real-token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error UNAUTHENTICATED: /);
  });
});

describe('prism-ami serve', () => {
  it('serve starts the server like npm start and stops cleanly on SIGTERM', async () => {
    const child = startCli(['serve'], {
      env: cleanEnv({ PORT: '0', DATABASE_PATH: ':memory:', EC2_BACKEND: 'simulator', LOG_LEVEL: 'info' }),
      cwd: tmpdir(),
    });
    const result = collect(child, 20_000);
    let seen = '';
    child.stdout?.on('data', (chunk: string) => (seen += chunk));
    const url = await eventually(() => /prism-ami listening on (http:\/\/\S+\/graphql)/.exec(seen)?.[1], 15_000, 50);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBeLessThan(500);
    child.kill('SIGTERM');
    expect((await result).code).toBe(0);
  });
});
