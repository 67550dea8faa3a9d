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

  it('takes the SSM endpoint from AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL, as the SDK does', () => {
    expect(
      loadConfig({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:5000', AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:5001' }),
    ).toMatchObject({ ec2Endpoint: 'http://127.0.0.1:5000', ssmEndpoint: 'http://127.0.0.1:5001' });
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5002' })).toMatchObject({
      ec2Endpoint: 'http://127.0.0.1:5002',
      ssmEndpoint: 'http://127.0.0.1:5002',
    });
    expect(loadConfig({ AWS_PROFILE: 'lab' }).ssmEndpoint).toBeUndefined();
    expect(() => loadConfig({ AWS_ENDPOINT_URL_SSM: 'not a url' })).toThrow(/AWS_ENDPOINT_URL_SSM/);
  });

  it('selects PostgreSQL and Redis by URL, without local token files, and never echoes a bad URL', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:pw@db:5432/prism', REDIS_URL: 'redis://cache:6379', INSTANCE_ID: 'r1' });
    expect(c).toMatchObject({ databaseUrl: 'postgres://u:pw@db:5432/prism', instanceId: 'r1', localTokenPath: undefined });
    expect(c.redis).toEqual({ url: 'redis://cache:6379', keyPrefix: 'prism-ami:' });
    expect(loadConfig({}).redis).toBeUndefined();
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:secret@db/x', REDIS_URL: 'cache:6379' });
    } catch (err) {
      error = err;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('DATABASE_URL=(value not shown): must be a URL of the form postgres://');
    expect(problems).toContain('REDIS_URL=(value not shown): must be a URL of the form redis://');
    expect(problems).not.toContain('secret');
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

  it("reads the simulator's limit of concurrent copies from SIMULATOR_MAX_CONCURRENT_COPIES, a whole number of at least 1", () => {
    expect(loadConfig({}).simulator.maxConcurrentCopies).toBeUndefined();
    expect(loadConfig({ SIMULATOR_MAX_CONCURRENT_COPIES: '1' }).simulator.maxConcurrentCopies).toBe(1);
    for (const bad of ['0', '2.5', 'many']) {
      expect(() => loadConfig({ SIMULATOR_MAX_CONCURRENT_COPIES: bad })).toThrow(/SIMULATOR_MAX_CONCURRENT_COPIES/);
    }
  });
});
