// Responsible for creation events across replicas (DESIGN §9): every publish goes to Redis, and
// every replica's subscribers are fed from Redis, its own publishes included, so that there is
// one path and one order for everyone. A replica holds one subscriber connection, SUBSCRIBEd to a
// channel while it has at least one local listener on that topic; the local fan-out (buffers,
// aborts) is the in-process hub's.
//
// An event is the creation's full current state, so a publish that fails is logged and dropped:
// the next one carries everything. A lost subscriber connection is not hidden: every open
// subscription ends with an error, and new ones are refused until Redis is back.
import type { Logger } from 'pino';
import { UnavailableError } from '../services/errors.js';
import { createLocalEventHub, failedSubscription, type EventHub } from '../services/events.js';
import type { RedisHandle } from './client.js';

export interface RedisEventHub<T> extends EventHub<T> {
  /** Resolves once Redis confirmed the SUBSCRIBE for `topic` (tests, so as not to race it). */
  ready(topic: string): Promise<void>;
  /** The subscriber connection is up (for /ready). */
  isReady(): boolean;
  /** Ends every open subscription and closes nothing: the handle owns the connections. */
  stop(): void;
}

export interface RedisEventHubOptions {
  /** Prepended to every topic to make the channel name, e.g. `prism-ami:events:`. */
  channelPrefix: string;
  logger: Logger;
}

export const EVENT_BUS_LOST = 'Lost the event bus (Redis); resubscribe to resume';

/** The hub, with its subscriber connection open (one sentence naming REDIS_URL if it cannot be). */
export async function createRedisEventHub<T>(handle: RedisHandle, options: RedisEventHubOptions): Promise<RedisEventHub<T>> {
  const subscriber = await handle.duplicate('events');
  const logger = options.logger.child({ component: 'redis-events' });
  const prefix = options.channelPrefix;
  // Per channel: the SUBSCRIBE in flight or done; a channel's UNSUBSCRIBE waits for it.
  const subscribed = new Map<string, Promise<void>>();

  const local = createLocalEventHub<T>({
    onFirstListener(topic) {
      const channel = prefix + topic;
      const sent = subscriber.subscribe(channel).then(() => undefined);
      subscribed.set(channel, sent);
      // Listeners that would never hear anything are told so at once.
      sent.catch((error: unknown) => {
        logger.warn({ err: error, channel }, 'Redis SUBSCRIBE failed');
        if (subscribed.get(channel) === sent) local.failTopic(topic, new UnavailableError(EVENT_BUS_LOST));
      });
    },
    onLastListener(topic) {
      const channel = prefix + topic;
      const pending = (subscribed.get(channel) ?? Promise.resolve()).catch(() => undefined);
      subscribed.delete(channel);
      void pending.then(() => {
        // Subscribed again meanwhile: the channel stays.
        if (subscribed.has(channel) || subscriber.status !== 'ready') return;
        return command(subscriber.unsubscribe(channel), logger, 'UNSUBSCRIBE', channel);
      });
    },
  });

  subscriber.on('message', (channel: string, message: string) => deliver(local, prefix, channel, message, logger));
  subscriber.on('close', () => {
    subscribed.clear();
    local.failAll(new UnavailableError(EVENT_BUS_LOST));
  });

  return {
    publish(topic, value) {
      void command(handle.redis.publish(prefix + topic, JSON.stringify(value)), logger, 'PUBLISH', prefix + topic);
    },
    subscribe(topic, subscribeOptions) {
      if (subscriber.status !== 'ready') return failedSubscription<T>(new UnavailableError(EVENT_BUS_LOST));
      return local.subscribe(topic, subscribeOptions);
    },
    ready: (topic) => subscribed.get(prefix + topic) ?? Promise.reject(new Error(`no local subscriber on ${topic}`)),
    isReady: () => subscriber.status === 'ready',
    stop: () => local.failAll(new UnavailableError(EVENT_BUS_LOST)),
  };
}

function deliver<T>(
  local: { publish(topic: string, value: T): void },
  prefix: string,
  channel: string,
  message: string,
  logger: Logger,
): void {
  if (!channel.startsWith(prefix)) return;
  let value: T;
  try {
    value = JSON.parse(message) as T;
  } catch (error) {
    logger.warn({ err: error, channel }, 'dropped an event that is not JSON');
    return;
  }
  local.publish(channel.slice(prefix.length), value);
}

/** A command whose failure is logged, never thrown: a lost event is followed by a fuller one. */
function command(sent: Promise<unknown>, logger: Logger, name: string, channel: string): Promise<void> {
  return sent.then(
    () => undefined,
    (error: unknown) => logger.warn({ err: error, channel }, `Redis ${name} failed`),
  );
}
