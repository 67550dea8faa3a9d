// Request ids and logs: the caller's x-request-id comes back and tags every log line written for
// the request (EC2 calls included) and its masked errors; tokens never reach the logs.
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { AmiCreationsDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { createLogger } from '../../src/logger.js';
import { SEEDED_OWNER_TAG } from '../../simulator/index.js';
import { eventually, TEST_CREDENTIALS } from '../support/harness.js';
import { closeDatabase } from './support.js';

describe('request ids and logs', () => {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  let app: App;
  let url: string;
  let token: string;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        raw += chunk.toString();
        for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger('trace', false, sink);
    const config = loadConfig({ EC2_BACKEND: 'simulator', DATABASE_PATH: ':memory:', PORT: '0', LOG_LEVEL: 'trace' });
    app = await buildApp(config, logger, { credentials: TEST_CREDENTIALS });
    url = await app.start();
    // The seeded instances' owner, who may capture demo-workstation.
    token = (await app.services.auth.createToken(SEEDED_OWNER_TAG.Value)).token;
  });
  afterAll(() => app.stop());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });

  it('returns the x-request-id the client sent, and a new one when it sent none or a malformed one', async () => {
    const given = await post({ query: '{ viewer { user } }' }, { 'x-request-id': 'client-req-42' });
    expect(given.headers.get('x-request-id')).toBe('client-req-42');
    const none = await post({ query: '{ viewer { user } }' });
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const forged of ['a" {"level":60', 'x'.repeat(200)]) {
      const res = await post({ query: '{ viewer { user } }' }, { 'x-request-id': forged });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const rest = await fetch(new URL('/api/v1/ami/list', url), {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'rest-req-7' },
    });
    expect(rest.headers.get('x-request-id')).toBe('rest-req-7');
    expect((await fetch(new URL('/ready', url), { headers: { 'x-request-id': 'probe-1' } })).headers.get('x-request-id')).toBe(
      'probe-1',
    );
  });

  it('tags the EC2 call log lines of a request with its request id', async () => {
    const res = await post(
      { query: print(CreateAmiDocument), variables: { input: { instance: 'demo-workstation', name: 'logged-ami' } } },
      { 'x-request-id': 'create-req-1' },
    );
    expect(res.status).toBe(200);
    const ec2Lines = lines.filter((l) => l.msg === 'ec2 call' && l.requestId === 'create-req-1');
    expect(ec2Lines.map((l) => l.action)).toEqual(expect.arrayContaining(['DescribeInstances', 'CreateImage']));
    // The tracker's own calls belong to no request.
    const trackerCall = await eventually(
      () => lines.find((l) => l.msg === 'ec2 call' && l.action === 'DescribeSnapshots'),
      5_000,
    );
    expect(trackerCall.requestId).toBeUndefined();
  });

  it('never writes a token to the logs, whatever the request', async () => {
    await post({ query: '{ viewer { user } }' }, { authorization: 'Bearer pam_this-token-does-not-exist' });
    await fetch(new URL(`/graphql?token=${token}`, url), { headers: { accept: 'text/html' } });
    await fetch(new URL('/api/v1/ami/list', url), { headers: { authorization: 'Bearer pam_this-token-does-not-exist' } });
    expect(lines.length).toBeGreaterThan(10);
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('pam_this-token-does-not-exist');
    // And the logger censors the usual places a token would be passed in.
    const probe: string[] = [];
    const redacting = createLogger(
      'info',
      false,
      new Writable({ write: (c: Buffer, _e, done) => (probe.push(c.toString()), done()) }),
    );
    redacting.info({ headers: { authorization: `Bearer ${token}` }, token, connectionParams: { authorization: token } }, 'x');
    expect(probe.join('')).not.toContain(token);
  });

  it('puts the request id in a masked error message and its log line', async () => {
    // A closed database turns any query into an unexpected error.
    await closeDatabase(app);
    const res = await post({ query: print(AmiCreationsDocument), variables: {} }, { 'x-request-id': 'broken-req-9' });
    const body = (await res.json()) as { errors: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors[0]!.message).toContain('(request id broken-req-9)');
    expect(body.errors[0]!.message).not.toMatch(/database|sqlite/i);
    const logged = lines.find((l) => l.msg === 'unexpected error' && l.requestId === 'broken-req-9');
    expect(logged).toBeDefined();
  });
});
