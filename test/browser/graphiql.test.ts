// GraphiQL at /graphql in a real headless Chromium, offline: opened as /graphql?token=…, it has
// the Authorization header filled in and runs a subscription over SSE to the creation's end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { chromiumForTests, launchChromium } from '../support/browser.js';
import { startTestApp, type TestApp } from '../support/harness.js';

// At load time: a missing browser fails this file rather than skipping it.
const CHROMIUM = chromiumForTests('The GraphiQL test');

let t: TestApp;
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '4', POLL_INTERVAL_MS: '250' });
  userDataDir = mkdtempSync(join(tmpdir(), 'prism-ami-graphiql-'));
  browser = await launchChromium(CHROMIUM, userDataDir);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('GraphiQL', () => {
  it('loads offline with the token in its headers and streams amiProgress to COMPLETED', async () => {
    const created = await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name: 'graphiql watch' } });
    if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(created.createAmi.__typename);
    const page = await browser.newPage();
    const outside: string[] = [];
    // Offline: any request that leaves this server fails the test.
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host !== new URL(t.url).host) {
        outside.push(url.href);
        return route.abort();
      }
      return route.continue();
    });
    const query = `subscription { amiProgress(id: "${created.createAmi.creation.id}") { status progress } }`;
    await page.goto(`${t.url}?token=${t.token}&query=${encodeURIComponent(query)}`);
    await page.locator('.graphiql-execute-button').click({ timeout: 15_000 });
    await expect
      .poll(async () => page.evaluate(() => document.body.innerText), { timeout: 20_000 })
      .toMatch(/"status":\s*"COMPLETED"/);
    // The subscription itself proves the header went along: the server answers 401 without it.
    expect(outside).toEqual([]);
  });
});
