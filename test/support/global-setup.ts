// Once per run, before any test file: fail at once (not skip) when moto, the independent EC2
// implementation the integration tests run against, is not installed; and find the Chromium the
// browser tests drive (its absence fails those files, with the ways to get one).
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { resolveChromium } from './browser.js';

export default async function setup(project: TestProject): Promise<void> {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'moto_server is required by the integration tests and was not found. Install it with: pip install "moto[server]==5.2.1"',
    );
  }
  project.provide('chromium', await resolveChromium());
}
