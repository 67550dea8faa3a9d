// connectRedis against the real Redis: a working URL connects and reports ready; a bad one stops
// start-up with one sentence naming REDIS_URL and where it tried, never the password.
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/client.js';
import { quietLogger, redisFixture } from '../support/redis.js';

const fixture = redisFixture();
afterAll(() => fixture.cleanup());

describe('connectRedis', () => {
  it('connects, reports ready, and closes without throwing (twice)', async () => {
    const handle = await fixture.connect();
    expect(handle.isReady()).toBe(true);
    expect(await handle.redis.ping()).toBe('PONG');
    expect(handle.target).toBe('127.0.0.1:6379');
    await handle.close();
    expect(handle.isReady()).toBe(false);
    await handle.close();
  });

  it('names REDIS_URL, the host:port and the cause when nothing listens', async () => {
    const attempt = connectRedis('redis://:s3cret@127.0.0.1:1', { logger: quietLogger });
    await expect(attempt).rejects.toThrow(
      /^REDIS_URL: cannot reach Redis at 127\.0\.0\.1:1 \(connect ECONNREFUSED\); start Redis or fix the URL$/,
    );
    await expect(attempt).rejects.not.toThrow(/s3cret/);
  });

  it('names REDIS_URL when the value is not a URL, without echoing it', async () => {
    await expect(connectRedis('notaurl', { logger: quietLogger })).rejects.toThrow(
      /^REDIS_URL: not a URL \(expected redis:\/\/host:6379 or rediss:\/\/host:6380\); fix the URL$/,
    );
    await expect(connectRedis('http://127.0.0.1:6379', { logger: quietLogger })).rejects.toThrow(
      /^REDIS_URL: unsupported scheme http:/,
    );
  });

  it('gives a duplicate connection that close() also ends', async () => {
    const handle = await fixture.connect();
    const sub = await handle.duplicate('sub');
    expect(await sub.ping()).toBe('PONG');
    await handle.close();
    expect(sub.status).toBe('end');
  });

  it('tells onStatus listeners of a loss and of the recovery, once each', async () => {
    const handle = await fixture.connect();
    const seen: string[] = [];
    handle.onStatus((s) => seen.push(s));
    const admin = await fixture.connect('admin');
    const id = await handle.redis.client('ID');
    await admin.redis.client('KILL', 'ID', String(id));
    await expect.poll(() => seen, { timeout: 5000 }).toEqual(['lost', 'ready']);
    expect(handle.isReady()).toBe(true);
  });
});
