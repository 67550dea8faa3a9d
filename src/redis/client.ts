// Responsible for the Redis connections a replica shares with the others (DESIGN §9): checked at
// start (one sentence naming REDIS_URL when Redis cannot be reached), then reconnected with a
// capped backoff; commands fail fast while disconnected instead of queueing, and the log says
// once that the connection was lost and once that it came back.
//
// Only src/redis/** imports ioredis (eslint.layers.js): services get these adapters injected
// behind their own interfaces.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis } from 'ioredis';

export type RedisStatus = 'ready' | 'lost';

export interface RedisHandle {
  /** The command connection (no SUBSCRIBE on it). */
  readonly redis: Redis;
  /** Where it connects, without credentials, for logs and messages. */
  readonly target: string;
  /** A further connection (e.g. for SUBSCRIBE), connected and checked; closed by close(). */
  duplicate(name: string): Promise<Redis>;
  /** The command connection answers now (for /ready). */
  isReady(): boolean;
  /** Called on each loss and recovery of the command connection; returns the unsubscribe. */
  onStatus(listener: (status: RedisStatus) => void): () => void;
  /** Quits every connection; never throws. */
  close(): Promise<void>;
}

export interface ConnectRedisOptions {
  logger: Logger;
  /** Names the connections (CLIENT SETNAME) and the log lines; `prism-ami` by default. */
  name?: string;
  /** How long the first connection and PING may take. */
  startTimeoutMs?: number;
}

const START_TIMEOUT_MS = 3000;

/** Connects to `url` and checks that Redis answers, or throws one sentence naming REDIS_URL. */
export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<RedisHandle> {
  const target = parseTarget(url);
  const name = options.name ?? 'prism-ami';
  const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const logger = options.logger.child({ component: 'redis', redis: target });
  const base: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // A subscriber re-subscribes what it still needs itself (event-hub.ts ends its subscriptions on a loss).
    autoResubscribe: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt: number) => Math.min(200 * attempt, 5000),
  };
  const connections: Redis[] = [];
  const closing = { now: false };
  const open = async (connectionName: string): Promise<Redis> => {
    const redis = new Redis(url, { ...base, connectionName });
    connections.push(redis);
    await checkStarted(redis, target, timeoutMs);
    watchStatus(redis, logger.child({ connection: connectionName }), closing);
    return redis;
  };
  const redis = await open(name);
  const listeners = new Set<(status: RedisStatus) => void>();
  let lost = false;
  redis.on('ready', () => {
    if (lost) for (const l of listeners) l('ready');
    lost = false;
  });
  redis.on('close', () => {
    if (!lost && !closing.now) for (const l of listeners) l('lost');
    lost = true;
  });
  logger.info('connected to Redis');
  return {
    redis,
    target,
    duplicate: (suffix) => open(`${name}:${suffix}`),
    isReady: () => redis.status === 'ready',
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      closing.now = true;
      return closeAll(connections);
    },
  };
}

/** host:port of a redis:// or rediss:// URL, never its password. */
function parseTarget(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('REDIS_URL: not a URL (expected redis://host:6379 or rediss://host:6380); fix the URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL: unsupported scheme ${parsed.protocol} (expected redis:// or rediss://); fix the URL`);
  }
  if (!parsed.hostname) throw new Error('REDIS_URL: the URL names no host (expected redis://host:6379); fix the URL');
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

/** The first connection and a PING within `timeoutMs`; on failure the connection is dropped (no retries). */
async function checkStarted(redis: Redis, target: string, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  const onError = (error: Error) => (lastError = error);
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timeout]);
  } catch (error) {
    redis.disconnect();
    const cause = describeCause(lastError ?? error);
    throw new Error(`REDIS_URL: cannot reach Redis at ${target} (${cause}); start Redis or fix the URL`, { cause: error });
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const syscall = (error as { syscall?: unknown }).syscall;
  if (typeof code === 'string' && typeof syscall === 'string') return `${syscall} ${code}`;
  // ioredis's own messages end with a period; the sentence goes on after the cause.
  return error.message.replace(/\.$/, '');
}

/** One line when the connection is lost, one when it is back: not one per retry. */
function watchStatus(redis: Redis, logger: Logger, closing: { now: boolean }): void {
  let lost = false;
  let lastError: string | undefined;
  redis.on('error', (error: Error) => {
    lastError = describeCause(error);
    logger.debug({ err: error }, 'Redis connection error');
  });
  redis.on('close', () => {
    if (lost || closing.now) return;
    lost = true;
    logger.warn({ cause: lastError }, 'lost the Redis connection; reconnecting');
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    lastError = undefined;
    logger.info('Redis connection restored');
  });
}

async function closeAll(connections: Redis[]): Promise<void> {
  await Promise.all(
    connections.map(async (redis) => {
      if (redis.status === 'end') return;
      const ended = new Promise<void>((resolve) => {
        redis.once('end', resolve);
        setTimeout(resolve, 2000).unref();
      });
      try {
        await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]);
      } catch {
        // Not connected, or no answer in time: drop the socket instead.
        redis.disconnect();
      }
      await ended;
    }),
  );
}
