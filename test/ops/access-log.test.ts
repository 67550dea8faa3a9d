// The access log: one info line per HTTP request and one per WebSocket open and close, with what an
// operator needs (method, path, status, duration, request id, user) and never a header, token or
// query string; LOG_REQUESTS=false silences them.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { eventually, TEST_CREDENTIALS } from '../support/harness.js';
import { openRaw } from '../support/raw-ws.js';

type Line = Record<string, unknown>;

async function startLogged(
  env: Record<string, string>,
): Promise<{ app: App; url: string; token: string; lines: Line[]; raw: () => string }> {
  const lines: Line[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const config = loadConfig({ EC2_BACKEND: 'simulator', DATABASE_PATH: ':memory:', PORT: '0', LOG_LEVEL: 'info', ...env });
  const app = await buildApp(config, createLogger('info', false, sink), { credentials: TEST_CREDENTIALS });
  const url = await app.start();
  const token = (await app.services.auth.createToken('tester')).token;
  return { app, url, token, lines, raw: () => raw };
}

const gqlPost = (url: string, token: string, requestId: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId },
    body: JSON.stringify({ query: '{ viewer { user } }' }),
  });

describe('access log (LOG_REQUESTS=true, the default)', () => {
  let s: Awaited<ReturnType<typeof startLogged>>;
  beforeAll(async () => {
    s = await startLogged({});
  });
  afterAll(() => s.app.stop());
  const requestLines = () => s.lines.filter((l) => l.msg === 'request');

  it('writes one info line per GraphQL request with method, path, status, duration, request id and user', async () => {
    expect((await gqlPost(s.url, s.token, 'log-req-1')).status).toBe(200);
    const line = await eventually(() => requestLines().find((l) => l.requestId === 'log-req-1'));
    expect(line).toMatchObject({ level: 30, method: 'POST', path: '/graphql', status: 200, user: 'tester' });
    expect(typeof line.durationMs).toBe('number');
    expect(requestLines().filter((l) => l.requestId === 'log-req-1')).toHaveLength(1);
  });

  it('logs REST, /health and unauthenticated requests too, without a user when there is none', async () => {
    await fetch(new URL('/api/v1/ami/list', s.url), {
      headers: { authorization: `Bearer ${s.token}`, 'x-request-id': 'log-rest' },
    });
    await fetch(new URL('/health', s.url), { headers: { 'x-request-id': 'log-health' } });
    await gqlPost(s.url, 'pam_not-a-real-token', 'log-anon');
    const rest = await eventually(() => requestLines().find((l) => l.requestId === 'log-rest'));
    expect(rest).toMatchObject({ method: 'GET', path: '/api/v1/ami/list', status: 200, user: 'tester' });
    const health = await eventually(() => requestLines().find((l) => l.requestId === 'log-health'));
    expect(health).toMatchObject({ method: 'GET', path: '/health', status: 200 });
    expect(health.user).toBeUndefined();
    const anon = await eventually(() => requestLines().find((l) => l.requestId === 'log-anon'));
    expect(anon).toMatchObject({ status: 401 });
    expect(anon.user).toBeUndefined();
  });

  it('writes the path without its query string and never a header or token', async () => {
    // A GraphiQL sign-in URL carries ?token=; a GET query carries the whole operation.
    const query = encodeURIComponent('{ viewer { user } }');
    await fetch(new URL(`/graphql?query=${query}&token=${s.token}`, s.url), {
      headers: { accept: 'application/json', authorization: `Bearer ${s.token}`, 'x-request-id': 'log-query-string' },
    });
    const line = await eventually(() => requestLines().find((l) => l.requestId === 'log-query-string'));
    expect(line).toMatchObject({ method: 'GET', path: '/graphql', status: 200 });
    const raw = s.raw();
    expect(raw).not.toContain(s.token);
    expect(raw).not.toContain('pam_not-a-real-token');
    expect(raw.toLowerCase()).not.toContain('authorization');
    expect(raw).not.toContain('?token=');
    for (const l of requestLines()) expect(Object.keys(l).sort()).not.toContain('headers');
  });

  it('writes a line when a WebSocket opens and when it closes, with user, connection id, duration and close code', async () => {
    const c = await openRaw(s.url, s.token);
    expect(c.acked).toBe(true);
    await c.close();
    const open = await eventually(() => s.lines.find((l) => l.msg === 'websocket open'));
    const closed = await eventually(() =>
      s.lines.find((l) => l.msg === 'websocket close' && l.connectionId === open.connectionId),
    );
    expect(open).toMatchObject({ level: 30, user: 'tester' });
    expect(typeof open.connectionId).toBe('string');
    expect(closed).toMatchObject({ user: 'tester', code: 1000 });
    expect(typeof closed.durationMs).toBe('number');
    expect(s.raw()).not.toContain(s.token);
  });
});

describe('access log off (LOG_REQUESTS=false)', () => {
  it('writes no request or WebSocket lines', async () => {
    const s = await startLogged({ LOG_REQUESTS: 'false' });
    try {
      await gqlPost(s.url, s.token, 'quiet-1');
      await fetch(new URL('/health', s.url));
      const c = await openRaw(s.url, s.token);
      await c.close();
      // The server did answer; the lines it would have written would be there by now.
      await new Promise((r) => setTimeout(r, 100));
      expect(s.lines.filter((l) => ['request', 'websocket open', 'websocket close'].includes(String(l.msg)))).toEqual([]);
      expect(s.lines.some((l) => String(l.msg).startsWith('prism-ami listening'))).toBe(true);
    } finally {
      await s.app.stop();
    }
  });
});
