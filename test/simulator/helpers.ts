/**
 * Test harness: a simulator on an ephemeral port with an injected clock (tests move time instead of
 * sleeping) and real `@aws-sdk/client-ec2` clients for any region.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import { expect } from 'vitest';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator/index.js';

export const START = Date.parse('2026-11-25T12:00:00.000Z');

export interface Harness {
  sim: RunningSimulator;
  ec2(region?: string, maxAttempts?: number): EC2Client;
  /** Moves the simulator's clock forward. */
  advance(seconds: number): void;
  now(): number;
  stop(): Promise<void>;
  control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
}

export async function startHarness(options: SimulatorOptions = {}): Promise<Harness> {
  let t = START;
  const sim = await startSimulator({ now: () => t, ...options });
  const clients: EC2Client[] = [];
  return {
    sim,
    ec2(region = 'us-east-1', maxAttempts = 1) {
      const client = new EC2Client({
        region,
        endpoint: sim.url,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts,
      });
      clients.push(client);
      return client;
    },
    advance(seconds) {
      t += seconds * 1000;
    },
    now: () => t,
    async stop() {
      for (const c of clients) c.destroy();
      await sim.stop();
    },
    async control(method, path, body) {
      const res = await fetch(`${sim.url}${path}`, {
        method,
        ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      return { status: res.status, json: await res.json() };
    },
  };
}

/** Asserts that an SDK call fails with an EC2 error code and HTTP status. */
export async function expectEc2Error(call: Promise<unknown>, code: string, status = 400): Promise<Error> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  expect(err).toMatchObject({ name: code, $metadata: { httpStatusCode: status } });
  return err as Error;
}

const execFileAsync = promisify(execFile);

/** Runs the AWS CLI (botocore, a second independent client) against the simulator, offline. */
export async function awsCli(
  sim: RunningSimulator,
  region: string,
  args: string[],
  service: 'ec2' | 'ssm' = 'ec2',
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      'aws',
      ['--endpoint-url', sim.url, '--region', region, '--output', 'json', service, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_MAX_ATTEMPTS: '1',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
