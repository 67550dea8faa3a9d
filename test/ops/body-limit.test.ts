// A refused body gets an answer every client can read: the server reads (and discards) the rest of
// the body before it answers 413 and closes, so Node's fetch and curl see the status, not EPIPE.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';

const run = promisify(execFile);
const FIVE_MB = 5 * 1024 * 1024;

let t: TestApp;
let dir: string;
beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator' });
  dir = mkdtempSync(join(tmpdir(), 'prism-body-'));
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bigJson = () => JSON.stringify({ query: '{ viewer { user } }', variables: { pad: 'x'.repeat(FIVE_MB) } });

async function curlStatus(url: string, extra: string[]): Promise<{ status: number; body: string }> {
  const file = join(dir, 'big.json');
  writeFileSync(file, bigJson());
  const { stdout } = await run(
    'curl',
    [
      '-sS',
      '-X',
      'POST',
      '--data-binary',
      `@${file}`,
      '-H',
      'content-type: application/json',
      ...extra,
      '-w',
      '\n%{http_code}',
      url,
    ],
    { maxBuffer: 1024 * 1024 },
  );
  const lines = stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

const hasCurl = await run('curl', ['--version']).then(
  () => true,
  () => false,
);

describe('413 for a body over MAX_BODY_BYTES', () => {
  it('is seen by Node fetch for a 5 MB GraphQL POST, with a JSON error naming the limit', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: bigJson(),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]!.message).toMatch(/MAX_BODY_BYTES/);
  });

  it('is seen by Node fetch for a 5 MB REST create, as the REST error shape', async () => {
    const res = await fetch(new URL('/api/v1/ami/create', t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: bigJson(),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('is seen by Node fetch for a 5 MB REST body sent without a length (chunked)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= FIVE_MB) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(new URL('/api/v1/ami/create', t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('leaves the server answering the next request at once', async () => {
    const res = await fetch(new URL('/health', t.url));
    expect(res.status).toBe(200);
  });

  it.runIf(hasCurl)('is seen by curl for a 5 MB GraphQL POST and a 5 MB REST create', async () => {
    const graphql = await curlStatus(t.url, ['-H', `authorization: Bearer ${t.token}`]);
    expect(graphql.status).toBe(413);
    expect(graphql.body).toContain('PAYLOAD_TOO_LARGE');
    const rest = await curlStatus(new URL('/api/v1/ami/create', t.url).href, ['-H', `authorization: Bearer ${t.token}`]);
    expect(rest.status).toBe(413);
    // Without curl's "Expect: 100-continue" the body arrives unasked, and is still read before the answer.
    const unasked = await curlStatus(t.url, ['-H', 'Expect:', '-H', `authorization: Bearer ${t.token}`]);
    expect(unasked.status).toBe(413);
  });
});
