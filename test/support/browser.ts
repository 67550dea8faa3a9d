// Finds a Chromium for the browser tests without installing anything: CHROMIUM_PATH when set,
// Debian's /usr/bin/chromium when present, otherwise the Chromium that the pinned dev dependency
// @sparticuz/chromium ships compressed inside its npm package (unpacked once into the temp folder).
// Nothing downloads a browser. When none can be had, the browser test files fail with a message
// that names both ways to get one.
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { inject } from 'vitest';

export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  source: 'CHROMIUM_PATH' | 'debian' | '@sparticuz/chromium';
}

export type ChromiumResolution = { ok: true; chromium: ChromiumChoice } | { ok: false; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumResolution;
  }
}

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling hosts this closed network refuses.
const QUIET_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HOW_TO_GET_ONE =
  'Either run `npm ci` (the dev dependency @sparticuz/chromium ships a Chromium inside its package), ' +
  "or install Debian's: `apt-get update && apt-get install -y chromium` (or point CHROMIUM_PATH at any Chromium).";

/** Called once per run by the global set-up, so that parallel test files never unpack at the same time. */
export async function resolveChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumResolution> {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (existsSync(configured))
      return { ok: true, chromium: { executablePath: configured, args: QUIET_ARGS, source: 'CHROMIUM_PATH' } };
    return { ok: false, reason: `CHROMIUM_PATH is ${configured}, which does not exist. ${HOW_TO_GET_ONE}` };
  }
  if (existsSync(DEBIAN_CHROMIUM))
    return { ok: true, chromium: { executablePath: DEBIAN_CHROMIUM, args: QUIET_ARGS, source: 'debian' } };
  try {
    const packaged = (await import('@sparticuz/chromium')).default;
    const executablePath = await packaged.executablePath();
    const args = [...new Set([...packaged.args, ...QUIET_ARGS.filter((arg) => arg !== '--headless')])];
    return { ok: true, chromium: { executablePath, args, source: '@sparticuz/chromium' } };
  } catch (err) {
    return {
      ok: false,
      reason: `No Chromium at ${DEBIAN_CHROMIUM}, and the packaged one could not be unpacked (${(err as Error).message}). ${HOW_TO_GET_ONE}`,
    };
  }
}

/**
 * The Chromium this run found. Call it at a test file's top level: a failing hook only marks the
 * tests skipped, and a missing browser must fail the run.
 */
export function chromiumForTests(testFile: string): ChromiumChoice {
  const resolution = inject('chromium');
  if (!resolution.ok) throw new Error(`${testFile} needs Chromium and none could be started. ${resolution.reason}`);
  return resolution.chromium;
}

export async function launchChromium(
  choice: ChromiumChoice,
  userDataDir: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  try {
    return await chromium.launchPersistentContext(userDataDir, {
      executablePath: choice.executablePath,
      headless: true,
      args: choice.args,
      ...options,
    });
  } catch (err) {
    throw new Error(
      `Chromium (${choice.source}, ${choice.executablePath}) did not start: ${(err as Error).message}\n${HOW_TO_GET_ONE}`,
    );
  }
}
