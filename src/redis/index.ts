// Responsible for assembling what replicas share through Redis (DESIGN §9) from one URL: the
// connections, the event bus, the mutation rate limit, the connection caps and the active-creation
// reservations, each behind the interface its in-process counterpart implements. app.ts builds
// this when REDIS_URL is set and passes each piece where the in-process one would go.
import type { Logger } from 'pino';
import type { ConnectionCaps, LimitName } from '../services/connection-limits.js';
import type { CreationReservations } from '../services/creation-cap.js';
import { mutationBurst, type RateLimiter } from '../services/rate-limit.js';
import { connectRedis, type RedisHandle } from './client.js';
import { createRedisConnectionLimiter, type RedisConnectionLimiter } from './connection-limits.js';
import { createRedisCreationReservations } from './creation-reservations.js';
import { createRedisEventHub, type RedisEventHub } from './event-hub.js';
import { createRedisRateLimiter } from './rate-limit.js';

export interface RedisScaleOutOptions {
  /** REDIS_URL. */
  url: string;
  /** Prepended to every key and channel, e.g. `prism-ami:`; replicas of one deployment share it. */
  keyPrefix: string;
  /** This replica, unique among the live ones (e.g. `${hostname}:${pid}`). */
  replicaId: string;
  logger: Logger;
  caps: ConnectionCaps;
  mutationsPerMinute: number;
  onRefusal?: (limit: LimitName) => void;
  /** Connection and subscription leases (30 s) and creation places (60 s) outlive a dead replica this long. */
  leaseTtlMs?: number;
  reservationTtlMs?: number;
}

export interface RedisScaleOut<E> {
  handle: RedisHandle;
  events: RedisEventHub<E>;
  rateLimiter: RateLimiter;
  connectionLimiter: RedisConnectionLimiter;
  creationReservations: CreationReservations;
  /** Both the command and the subscriber connection are up (for /ready). */
  isReady(): boolean;
  /** Ends the heartbeat and the subscriptions, then closes the connections; never throws. */
  stop(): Promise<void>;
}

/** Connects (one sentence naming REDIS_URL when Redis cannot be reached) and builds every adapter. */
export async function createRedisScaleOut<E>(options: RedisScaleOutOptions): Promise<RedisScaleOut<E>> {
  const { keyPrefix, replicaId, logger } = options;
  const handle = await connectRedis(options.url, { logger, name: `prism-ami:${replicaId}` });
  let events: RedisEventHub<E>;
  try {
    events = await createRedisEventHub<E>(handle, { channelPrefix: `${keyPrefix}events:`, logger });
  } catch (error) {
    await handle.close();
    throw error;
  }
  const connectionLimiter = createRedisConnectionLimiter(handle, {
    caps: options.caps,
    keyPrefix,
    replicaId,
    logger,
    ...(options.leaseTtlMs ? { leaseTtlMs: options.leaseTtlMs } : {}),
    ...(options.onRefusal ? { onRefusal: options.onRefusal } : {}),
  });
  const perMinute = options.mutationsPerMinute;
  return {
    handle,
    events,
    rateLimiter: createRedisRateLimiter(handle, { perMinute, burst: mutationBurst(perMinute), keyPrefix }),
    connectionLimiter,
    creationReservations: createRedisCreationReservations(handle, {
      keyPrefix,
      replicaId,
      logger,
      ...(options.reservationTtlMs ? { ttlMs: options.reservationTtlMs } : {}),
    }),
    isReady: () => handle.isReady() && events.isReady(),
    async stop() {
      await connectionLimiter.stop().catch(() => undefined);
      events.stop();
      await handle.close();
    },
  };
}
