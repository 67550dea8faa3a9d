// Settings for production: introspection and GraphiQL can be turned off, and CORS is off unless
// origins are configured.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const introspection = JSON.stringify({ query: '{ __schema { queryType { name } } }' });

async function post(app: TestApp, body: string, headers: Record<string, string> = {}) {
  return fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${app.token}`, ...headers },
    body,
  });
}

describe('production settings', () => {
  it('answers introspection and serves GraphiQL by default', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator' });
    const res = (await (await post(t, introspection)).json()) as { data?: { __schema: { queryType: { name: string } } } };
    expect(res.data?.__schema.queryType.name).toBe('Query');
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).toMatch(/graphiql/i);
  });

  it('refuses introspection with GRAPHQL_INTROSPECTION=false and serves no GraphiQL with GRAPHIQL=false', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', GRAPHQL_INTROSPECTION: 'false', GRAPHIQL: 'false' });
    const res = (await (await post(t, introspection)).json()) as { data?: unknown; errors?: { message: string }[] };
    expect(res.data).toBeUndefined();
    expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    // Ordinary operations still work.
    const ok = (await (await post(t, JSON.stringify({ query: '{ viewer { user } }' }))).json()) as {
      data?: { viewer: { user: string } };
    };
    expect(ok.data?.viewer.user).toBe('tester');
  });

  it('sends no CORS headers to another origin by default', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator' });
    const preflight = await fetch(t.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins with CORS_ORIGINS', async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', CORS_ORIGINS: 'https://lab.example, https://other.example' });
    const allowed = await fetch(t.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://lab.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://lab.example');
    const refused = await fetch(t.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(refused.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
  });
});
