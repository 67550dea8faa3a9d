import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databasePath: './data/prism-ami.db',
      ec2Backend: 'simulator',
      region: 'us-east-1',
      pollIntervalMs: 1000,
      logLevel: 'info',
      localTokenPath: './data/prism-ami.token',
    });
    expect(c.simulator.statePath).toBe('./data/prism-ami.simulator.json');
  });

  it('resolves EC2_BACKEND=auto to aws when credentials or an endpoint exist, with a 10 s poll', () => {
    expect(loadConfig({ AWS_PROFILE: 'lab' })).toMatchObject({ ec2Backend: 'aws', pollIntervalMs: 10_000 });
    expect(loadConfig({ AWS_ACCESS_KEY_ID: 'AKIA…' }).ec2Backend).toBe('aws');
    expect(loadConfig({}, { hasSharedCredentialsFile: true }).ec2Backend).toBe('aws');
    expect(loadConfig({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:5000' })).toMatchObject({
      ec2Backend: 'aws',
      ec2Endpoint: 'http://127.0.0.1:5000',
    });
    expect(loadConfig({ EC2_BACKEND: 'simulator', AWS_PROFILE: 'lab' }).ec2Backend).toBe('simulator');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', EC2_BACKEND: 'cloud', AWS_REGION: 'Mars', POLL_INTERVAL_MS: '5', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'EC2_BACKEND', 'AWS_REGION', 'POLL_INTERVAL_MS', 'LOG_LEVEL']) expect(problems).toContain(name);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration:/);
  });

  it('keeps an in-memory database free of files (no token file, no simulator state)', () => {
    const c = loadConfig({ DATABASE_PATH: ':memory:' });
    expect(c.localTokenPath).toBeUndefined();
    expect(c.simulator.statePath).toBeUndefined();
  });
});
