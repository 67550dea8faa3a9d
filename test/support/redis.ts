// For the tests against the real Redis (test/redis): a key prefix of the file's own, connections
// that are closed afterwards, and the file's keys deleted (SCAN + DEL on the prefix).
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { connectRedis, type RedisHandle } from '../../src/redis/client.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export const quietLogger = pino({ level: 'silent' });

export interface RedisFixture {
  prefix: string;
  /** A replica's handle of its own; closed by cleanup(). */
  connect(name?: string): Promise<RedisHandle>;
  cleanup(): Promise<void>;
}

export function redisFixture(): RedisFixture {
  const prefix = `test-${randomUUID()}:`;
  const handles: RedisHandle[] = [];
  return {
    prefix,
    async connect(name = 'test') {
      const handle = await connectRedis(REDIS_URL, { logger: quietLogger, name });
      handles.push(handle);
      return handle;
    },
    async cleanup() {
      const admin = await connectRedis(REDIS_URL, { logger: quietLogger, name: 'test-cleanup' });
      let cursor = '0';
      do {
        const [next, keys] = await admin.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await admin.redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await Promise.all([...handles, admin].map((h) => h.close()));
    },
  };
}
