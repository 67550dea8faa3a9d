// The web dashboard end to end in a real headless Chromium (found by test/support/browser.ts)
// against a real server on the in-process EC2 simulator: sign-in from the start-up link, the
// server's validation errors beside their fields, a creation followed live to COMPLETED, the
// AMI list and its actions, the community list, the SSE fallback, and a phone-sized layout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dashboardIsStale } from '../../web/build.js';
import { chromiumForTests, launchChromium } from '../support/browser.js';
import { AmiCreationsDocument, CreateAmiDocument, InstanceDocument } from '../../src/generated/graphql/graphql.js';
import { startTestApp, TEST_CREDENTIALS, type TestApp } from '../support/harness.js';
import { BASE_IMAGES } from '../../simulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-results');

let t: TestApp;
let origin: string;
let userDataDir: string;
let browser: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

// At load time, not in beforeAll: a failing hook only marks the tests skipped, and a missing
// browser must fail the run (the file then counts as one failure).
const CHROMIUM = chromiumForTests('The dashboard tests');

beforeAll(async () => {
  // Build (or rebuild) web/dist when a source is newer than the build; a build error fails here.
  if (dashboardIsStale()) execFileSync('npx', ['tsx', 'web/build.ts'], { cwd: ROOT, stdio: 'pipe' });

  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '3', POLL_INTERVAL_MS: '300' });
  origin = new URL(t.url).origin;
  userDataDir = mkdtempSync(join(tmpdir(), 'prism-ami-chromium-'));
  browser = await launchChromium(CHROMIUM, userDataDir, { viewport: { width: 1280, height: 900 } });
  page = await newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

afterEach(() => {
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

async function newPage(): Promise<Page> {
  const p = await browser.newPage();
  // Fail a step in seconds, with Playwright's explanation, rather than at the test's timeout.
  p.setDefaultTimeout(10_000);
  p.on('pageerror', (err) => pageErrors.push(err.message));
  return p;
}

function creationCard(p: Page, name: string): Locator {
  return p.getByTestId('creation').filter({ has: p.getByRole('heading', { name, exact: true }) });
}

function amiCard(p: Page, listTestId: 'user-amis' | 'community-amis', name: string): Locator {
  return p
    .getByTestId(listTestId)
    .getByTestId('ami')
    .filter({ has: p.getByRole('heading', { name, exact: true }) });
}

function createForm(p: Page): Locator {
  return p.getByRole('region', { name: 'Create an AMI' });
}

async function createAmi(p: Page, instance: string, name: string): Promise<void> {
  const form = createForm(p);
  await form.getByRole('textbox', { name: 'Instance', exact: true }).fill(instance);
  await form.getByRole('textbox', { name: 'AMI name', exact: true }).fill(name);
  await form.getByRole('button', { name: 'Create AMI' }).click();
}

/** Follows a creation's progress bar until its status is terminal; returns every value seen. */
async function followProgress(
  p: Page,
  card: Locator,
  onValue?: (value: number) => Promise<void>,
): Promise<{ values: number[]; status: string }> {
  const bar = card.getByRole('progressbar').first();
  const values: number[] = [];
  const deadline = Date.now() + 40_000;
  for (;;) {
    // Status first: the value read after a terminal status is the final one.
    const status = (await card.getByTestId('status').textContent()) ?? '';
    const value = Number(await bar.getAttribute('aria-valuenow'));
    if (values.at(-1) !== value) {
      values.push(value);
      await onValue?.(value);
    }
    if (['completed', 'partially completed', 'failed', 'cancelled'].includes(status)) return { values, status };
    if (Date.now() > deadline) throw new Error(`no terminal status within 40 s; progress seen: ${values.join(', ')}`);
    await p.waitForTimeout(100);
  }
}

describe('web dashboard', () => {
  it('signs in from the start-up link, then drops the token from the address bar and keeps it for the tab', async () => {
    const response = await page.goto(`${origin}/?token=${t.token}`);
    expect(response?.headers()['content-type']).toContain('text/html');
    expect(response?.headers()['referrer-policy']).toBe('no-referrer');

    await expect.poll(() => page.getByTestId('viewer').textContent()).toBe('tester');
    expect(page.url()).toBe(`${origin}/`);
    expect(await page.evaluate(() => sessionStorage.getItem('prism-ami.token'))).toBe(t.token);

    await page.reload();
    await expect.poll(() => page.getByTestId('viewer').textContent()).toBe('tester');
  });

  it('asks for a token when the link carries none, and refuses an unknown one', async () => {
    const p = await newPage();
    await p.goto(`${origin}/`);
    await p.getByLabel('API token').fill('pam_not-a-real-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('did not accept the token');
    await p.getByLabel('API token').fill(t.token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.getByTestId('viewer').textContent()).toBe('tester');
    await p.close();
  });

  it("shows the server's validation error for a bad name beside the name field (keyboard only)", async () => {
    await createForm(page).getByRole('textbox', { name: 'Instance', exact: true }).focus();
    await page.keyboard.type('demo-workstation');
    await page.keyboard.press('Tab');
    await page.keyboard.type('x');
    await page.keyboard.press('Enter');

    const name = createForm(page).getByRole('textbox', { name: 'AMI name', exact: true });
    await expect.poll(() => name.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await name.getAttribute('aria-describedby')) ?? '';
    expect(describedBy.split(' ')).toContain('name-error');
    expect(await page.locator('#name-error').textContent()).toMatch(/3 to 128 characters/);
    // The message sits in the name field's own block, and the focus is back on the field.
    expect(
      await page
        .locator('.field', { has: page.locator('#name') })
        .locator('.field-error')
        .count(),
    ).toBe(1);
    // The form focuses the first invalid field on the next animation frame, after marking it.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('name');
    expect(
      await createForm(page).getByRole('textbox', { name: 'Instance', exact: true }).getAttribute('aria-invalid'),
    ).toBeNull();
  });

  it("shows the server's refusal of Keep latest without a template beside the Keep latest field", async () => {
    const form = createForm(page);
    await form.getByRole('textbox', { name: 'Instance', exact: true }).fill('demo-workstation');
    await form.getByRole('textbox', { name: 'AMI name', exact: true }).fill('keep latest without template');
    await form.getByRole('textbox', { name: 'Template', exact: true }).fill('');
    const keepLatest = form.getByRole('textbox', { name: 'Keep latest', exact: true });
    await keepLatest.fill('2');
    await form.getByRole('button', { name: 'Create AMI' }).click();

    await expect.poll(() => keepLatest.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#keepLatest-error').textContent()).toMatch(/set templateName/);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('keepLatest');
    await keepLatest.fill('');
  });

  it('sends encryption with per-region keys, deprecation, protection, IMDSv2 and the SSM parameter from the create form', async () => {
    const form = createForm(page);
    const name = `browser-settings-${Date.now()}`;
    await form.getByRole('textbox', { name: 'Instance', exact: true }).fill('teaching-env');
    await form.getByRole('textbox', { name: 'AMI name', exact: true }).fill(name);
    await form.getByRole('textbox', { name: 'Copy to regions', exact: true }).fill('us-west-2');
    await form.getByRole('checkbox', { name: 'Encrypt every image' }).check();
    await form.getByRole('textbox', { name: 'KMS key', exact: true }).fill('alias/builds');
    const regionKeys = form.getByRole('textbox', { name: 'Keys of the copy regions', exact: true });
    // A line without "=" is refused in the form, beside its field, before anything is sent.
    await regionKeys.fill('alias/builds-west');
    await form.getByRole('button', { name: 'Create AMI' }).click();
    await expect.poll(() => regionKeys.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#regionKmsKeyIds-error').textContent()).toContain('region=key');

    await regionKeys.fill('us-west-2=alias/builds-west');
    const year = new Date().getFullYear() + 1;
    await form.getByLabel('Deprecate at', { exact: true }).fill(`${year}-06-30T12:00`);
    await form.getByRole('checkbox', { name: 'Deregistration protection' }).check();
    await form.getByRole('checkbox', { name: 'Require IMDSv2' }).check();
    await form.getByRole('textbox', { name: 'SSM parameter', exact: true }).fill('/prism/browser/latest');
    await form.getByRole('button', { name: 'Create AMI' }).click();
    await creationCard(page, name).waitFor();

    const { amiCreations } = await t.gql(AmiCreationsDocument, { first: 100 });
    const creation = amiCreations.edges.map((e) => e.node).find((c) => c.name === name);
    expect(creation).toMatchObject({
      encryption: { kmsKeyId: 'alias/builds', regionKmsKeyIds: [{ region: 'us-west-2', kmsKeyId: 'alias/builds-west' }] },
      // datetime-local is the browser's local time; the page sent it as that instant.
      deprecateAt: await page.evaluate((local) => new Date(local).toISOString(), `${year}-06-30T12:00`),
      deregistrationProtection: true,
      requireImdsV2: true,
      ssmParameter: '/prism/browser/latest',
    });
    await form.getByRole('checkbox', { name: 'Encrypt every image' }).uncheck();
    await form.getByRole('checkbox', { name: 'Deregistration protection' }).uncheck();
    await form.getByRole('checkbox', { name: 'Require IMDSv2' }).uncheck();
    await form.getByLabel('Deprecate at', { exact: true }).fill('');
    await form.getByRole('textbox', { name: 'SSM parameter', exact: true }).fill('');
    await form.getByRole('textbox', { name: 'Copy to regions', exact: true }).fill('');
  });

  it('creates an AMI and follows its progress bar live to COMPLETED without reloading, then lists it', async () => {
    const name = `browser-ami-${Date.now()}`;
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await createAmi(page, 'demo-workstation', name);
    const card = creationCard(page, name);
    await card.waitFor();
    expect(await page.getByTestId('transport').textContent()).toContain('WebSocket');

    let screenshot = false;
    const { values, status } = await followProgress(page, card, async (value) => {
      if (!screenshot && value >= 20 && value <= 80) {
        screenshot = true;
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      }
    });
    expect(status).toBe('completed');
    expect(values.at(-1)).toBe(100);
    // It advanced through intermediate values, never backwards.
    expect(values.filter((v) => v > 0 && v < 100).length).toBeGreaterThanOrEqual(2);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    expect(screenshot).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await card.getByTestId('remaining').textContent()).toBe('—');

    const ami = amiCard(page, 'user-amis', name);
    await expect.poll(() => ami.textContent(), { timeout: 10_000 }).toContain('available');
  }, 60_000);

  it('shows a creation made through the API, not the page, live without reloading, and its AMI once available', async () => {
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    // The page's amiCreationChanges and amiChanges streams are open before the creation is made.
    await expect.poll(() => t.app.limiter.counts().subscriptions, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const name = `api-ami-${Date.now()}`;
    const created = await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name } });
    expect(created.createAmi.__typename).toBe('CreateAmiSuccess');

    const card = creationCard(page, name);
    await card.waitFor();
    const { status } = await followProgress(page, card);
    expect(status).toBe('completed');
    const ami = amiCard(page, 'user-amis', name);
    await expect.poll(() => ami.textContent(), { timeout: 10_000 }).toContain('available');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  }, 60_000);

  it('publishes the AMI and sees it in the community list, then unpublishes it', async () => {
    const name = (await page.getByTestId('creation').first().getByRole('heading').textContent())!;
    const ami = amiCard(page, 'user-amis', name);
    await ami.getByRole('button', { name: 'Publish' }).click();
    await expect.poll(() => ami.getByTestId('visibility').textContent()).toBe('public');
    const published = amiCard(page, 'community-amis', name);
    await expect.poll(() => published.count()).toBe(1);
    expect(await published.textContent()).toContain('by tester');

    await ami.getByRole('button', { name: 'Unpublish' }).click();
    await expect.poll(() => ami.getByTestId('visibility').textContent()).toBe('private');
    await expect.poll(() => published.count()).toBe(0);
  });

  it('launches an instance from the AMI card: a bad type is refused in the dialog, then Launching i-… turns Running', async () => {
    const name = (await page.getByTestId('creation').first().getByRole('heading').textContent())!;
    const ami = amiCard(page, 'user-amis', name);
    await ami.getByRole('button', { name: 'Launch…', exact: true }).click();
    const dialog = page.getByRole('dialog');
    const type = dialog.getByRole('textbox', { name: 'Instance type' });
    expect(await type.inputValue()).toBe('t3.micro');
    await type.fill('huge');
    await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/not an EC2 instance type/);
    expect(await type.getAttribute('aria-invalid')).toBe('true');

    await type.fill('t3.small');
    await dialog.getByRole('textbox', { name: 'Name (optional)' }).fill('browser launch');
    await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    const status = ami.getByTestId('launch-status');
    expect(await status.textContent()).toMatch(/^Launching i-[0-9a-f]{17}…$/);
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/^Running: i-[0-9a-f]{17}$/);
    const instanceId = (await status.getAttribute('data-instance-id'))!;
    const { instance } = await t.gql(InstanceDocument, { id: instanceId });
    expect(instance).toMatchObject({ name: 'browser launch', owner: 'tester', state: 'RUNNING' });
  }, 30_000);

  it('Protect shows Protected on the card and deregistering is then refused with the reason; Unprotect lifts it', async () => {
    const name = (await page.getByTestId('creation').first().getByRole('heading').textContent())!;
    const ami = amiCard(page, 'user-amis', name);
    const protectedChip = ami.getByTestId('ami-settings').locator('[data-setting="protected"]');
    expect(await protectedChip.count()).toBe(0);
    await ami.getByRole('button', { name: 'Protect', exact: true }).click();
    await expect.poll(() => protectedChip.textContent()).toBe('Protected');

    await ami.getByRole('button', { name: 'Deregister…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Deregister' }).click();
    await expect.poll(() => ami.getByRole('alert').textContent()).toMatch(/deregistration protection on.*protect .* --off/);
    expect(await ami.textContent()).toContain('available');

    await ami.getByRole('button', { name: 'Unprotect', exact: true }).click();
    await expect.poll(() => protectedChip.count()).toBe(0);
    expect(await ami.getByRole('button', { name: 'Protect', exact: true }).count()).toBe(1);
  });

  it('deregisters an AMI only after the confirmation', async () => {
    const name = (await page.getByTestId('creation').first().getByRole('heading').textContent())!;
    const ami = amiCard(page, 'user-amis', name);
    await ami.getByRole('button', { name: 'Deregister…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await ami.textContent()).toContain('available');

    await ami.getByRole('button', { name: 'Deregister…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Deregister' }).click();
    await expect.poll(() => ami.textContent()).toContain('deregistered');
  });

  it('picks an instance from the picker, which fills the Instance field, and creates an AMI from it', async () => {
    const sim = new EC2Client({ region: 'us-east-1', endpoint: t.app.simulator!.url, credentials: TEST_CREDENTIALS });
    const launched = await sim.send(
      new RunInstancesCommand({
        ImageId: BASE_IMAGES.x86_64,
        MinCount: 1,
        MaxCount: 1,
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 12 } }],
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'Name', Value: 'picked-box' },
              { Key: 'prism:owner', Value: 'tester' },
            ],
          },
        ],
      }),
    );
    sim.destroy();
    const instanceId = launched.Instances![0]!.InstanceId!;
    const picker = createForm(page).getByRole('group', { name: 'Your instances' });
    const option = picker.getByRole('button', { name: /picked-box/ });
    // Launched pending: listed but not capturable until it runs (about 2 s on the simulator).
    await expect
      .poll(
        async () => {
          await picker.getByRole('button', { name: 'Refresh instances' }).click();
          return (await option.count()) === 1 && (await option.isEnabled());
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);
    expect(await option.textContent()).toMatch(/running · 12 GiB · \$0\.60\/month/);
    await option.click();
    const instanceField = createForm(page).getByRole('textbox', { name: 'Instance', exact: true });
    expect(await instanceField.inputValue()).toBe(instanceId);
    expect(await option.getAttribute('aria-pressed')).toBe('true');

    const name = `picked-ami-${Date.now()}`;
    await createForm(page).getByRole('textbox', { name: 'AMI name', exact: true }).fill(name);
    await createForm(page).getByRole('button', { name: 'Create AMI' }).click();
    const card = creationCard(page, name);
    await card.waitFor();
    expect(await card.textContent()).toContain(instanceId);
    // Typing still works: the field takes any text, and the picker lets go of its choice.
    await instanceField.fill('demo-workstation');
    await expect.poll(() => option.getAttribute('aria-pressed')).toBe('false');
  }, 30_000);

  it('falls back to Server-Sent Events in single connection mode when the WebSocket is refused, and progress streams to completed', async () => {
    const p = await newPage();
    await p.routeWebSocket(/\/graphql$/, (ws) => ws.close({ code: 1011, reason: 'blocked by test proxy' }));
    // graphql-sse's single connection mode: a PUT reserves the stream, a GET opens it, operations
    // are POSTed with its token; every one of them carries the bearer token.
    const protocol: { method: string; stream: boolean; authorized: boolean }[] = [];
    p.on('request', (r) => {
      if (!r.url().endsWith('/graphql')) return;
      const headers = r.headers();
      if (r.method() !== 'PUT' && !headers['x-graphql-event-stream-token']) return;
      protocol.push({ method: r.method(), stream: headers.accept === 'text/event-stream', authorized: !!headers.authorization });
    });
    await p.goto(`${origin}/?token=${t.token}`);
    const name = `sse-ami-${Date.now()}`;
    // teaching-env: stopped, 16 GiB (about 5 s at the test speed).
    await createAmi(p, 'teaching-env', name);
    const { values, status } = await followProgress(p, creationCard(p, name));
    expect(await p.getByTestId('transport').textContent()).toContain('Server-Sent Events');
    expect(status).toBe('completed');
    expect(values.some((v) => v > 0 && v < 100)).toBe(true);
    expect(protocol.filter((r) => r.method === 'PUT').length, 'one stream reserved').toBe(1);
    expect(protocol.filter((r) => r.method === 'GET' && r.stream).length, 'one stream opened').toBe(1);
    expect(protocol.filter((r) => r.method === 'POST').length).toBeGreaterThanOrEqual(1);
    expect(protocol.every((r) => r.authorized)).toBe(true);
    await p.close();
  }, 60_000);

  it('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    await page.getByTestId('viewer').waitFor();
    await page.getByTestId('user-amis').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
