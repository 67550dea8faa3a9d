// How src/http/dashboard.ts serves web/dist: content types, caching, gzip, revalidation, the
// "not built" page, and nothing outside the folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardRoute } from '../../src/http/dashboard.js';

let dir: string;
const servers: Server[] = [];

async function serve(root: string): Promise<string> {
  const route = createDashboardRoute({ dir: root });
  const server = createServer((req, res) => {
    void (async () => {
      if (await route(req, res)) return;
      res.writeHead(404).end('not the dashboard');
    })();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prism-ami-web-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(
    join(dir, 'dist', 'index.html'),
    '<!doctype html><title>prism-ami</title><script type="module" src="/assets/index-abc123.js"></script>',
  );
  writeFileSync(join(dir, 'dist', 'assets', 'index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  writeFileSync(join(dir, 'dist', 'assets', 'index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'secret.txt'), 'outside web/dist');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard assets', () => {
  it('serves index.html at / (with or without ?token) for revalidation on every load, with a strict policy', async () => {
    const base = await serve(join(dir, 'dist'));
    for (const path of ['/', '/?token=pam_abc', '/index.html']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await res.text()).toContain('<title>prism-ami</title>');
    }
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const base = await serve(join(dir, 'dist'));
    const first = await fetch(`${base}/`);
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable with their content type, gzipped when accepted', async () => {
    const base = await serve(join(dir, 'dist'));
    const js = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(Number(js.headers.get('content-length'))).toBeLessThan(4000);
    expect(await js.text()).toContain('xxxx'); // fetch decompresses

    const css = await fetch(`${base}/assets/index-abc123.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(css.headers.get('content-encoding')).toBeNull();

    const head = await fetch(`${base}/assets/index-abc123.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('leaves unknown paths, other methods and anything outside web/dist to the next handler', async () => {
    const base = await serve(join(dir, 'dist'));
    for (const path of [
      '/assets/missing.js',
      '/graphql-not',
      '/../secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%2e%2e/secret.txt',
    ]) {
      const res = await fetch(base + path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(await res.text()).toBe('not the dashboard');
    }
    const post = await fetch(`${base}/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
  });

  it('says to run npm run build when web/dist is missing, and keeps the sign-in link working through GraphiQL', async () => {
    const base = await serve(join(dir, 'not-built'));
    const res = await fetch(`${base}/?token=pam_abc-DEF_1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('npm run build');
    expect(html).toContain('href="/graphql?token=pam_abc-DEF_1"');
    // Not a token: not echoed.
    const odd = await (await fetch(`${base}/?token=%22%3E%3Cscript%3E`)).text();
    expect(odd).not.toContain('<script>');
    expect(odd).toContain('href="/graphql"');
    expect((await fetch(`${base}/assets/index-abc123.js`)).status).toBe(404);
  });
});
