// Creation events across replicas through the real Redis: two handles stand for two replicas.
// A publish on one reaches subscribers on both, topics stay apart, a slow subscriber keeps the
// newest values, leaving unsubscribes, and a lost subscriber connection ends every subscription
// with an error rather than leaving it silent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisHandle } from '../../src/redis/client.js';
import { createRedisEventHub, EVENT_BUS_LOST, type RedisEventHub } from '../../src/redis/event-hub.js';
import { quietLogger, redisFixture } from '../support/redis.js';

interface State {
  id: string;
  progress: number;
}

const fixture = redisFixture();
let a: RedisHandle;
let b: RedisHandle;
let hubA: RedisEventHub<State>;
let hubB: RedisEventHub<State>;

beforeAll(async () => {
  [a, b] = await Promise.all([fixture.connect('replica-a'), fixture.connect('replica-b')]);
  const options = { channelPrefix: `${fixture.prefix}events:`, logger: quietLogger };
  [hubA, hubB] = await Promise.all([createRedisEventHub<State>(a, options), createRedisEventHub<State>(b, options)]);
});
afterAll(() => fixture.cleanup());

async function channels(handle: RedisHandle): Promise<string[]> {
  return (await handle.redis.call('PUBSUB', 'CHANNELS', `${fixture.prefix}*`)) as string[];
}

async function next(iterator: AsyncIterator<State>): Promise<State> {
  const result = await iterator.next();
  if (result.done) throw new Error('the subscription ended');
  return result.value;
}

/** Kills the pub/sub connection of this file named `name` (CLIENT KILL on it alone). */
async function killSubscriber(admin: RedisHandle, name: string): Promise<void> {
  const list = (await admin.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${fixture.prefix}${name} `));
  const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
  if (!id) throw new Error(`no pub/sub connection named ${name}`);
  await admin.redis.client('KILL', 'ID', id);
}

describe('Redis event hub', () => {
  it('delivers a publish on replica A to subscribers on B and on A itself, in order', async () => {
    const onB = hubB.subscribe('c1');
    const onA = hubA.subscribe('c1');
    await Promise.all([hubB.ready('c1'), hubA.ready('c1')]);
    hubA.publish('c1', { id: 'c1', progress: 10 });
    hubA.publish('c1', { id: 'c1', progress: 20 });
    expect((await onB.next()).value).toEqual({ id: 'c1', progress: 10 });
    expect((await onB.next()).value).toEqual({ id: 'c1', progress: 20 });
    expect((await onA.next()).value).toEqual({ id: 'c1', progress: 10 });
    await Promise.all([onA.return?.(), onB.return?.()]);
  });

  it('keeps two topics apart', async () => {
    const one = hubB.subscribe('t1');
    const two = hubB.subscribe('t2');
    await Promise.all([hubB.ready('t1'), hubB.ready('t2')]);
    hubA.publish('t2', { id: 't2', progress: 1 });
    hubA.publish('t1', { id: 't1', progress: 2 });
    expect((await one.next()).value).toEqual({ id: 't1', progress: 2 });
    expect((await two.next()).value).toEqual({ id: 't2', progress: 1 });
    await Promise.all([one.return?.(), two.return?.()]);
  });

  it('keeps the newest values in a slow subscriber’s buffer', async () => {
    const slow = hubB.subscribe('slow', { bufferSize: 2 });
    const marker = hubB.subscribe('slow');
    await hubB.ready('slow');
    for (let n = 1; n <= 5; n++) hubA.publish('slow', { id: 'slow', progress: n });
    // The unbuffered subscriber seeing the last one means all five have arrived.
    for (let n = 1; n <= 5; n++) await marker.next();
    expect((await next(slow)).progress).toBe(4);
    expect((await next(slow)).progress).toBe(5);
    await Promise.all([slow.return?.(), marker.return?.()]);
  });

  it('unsubscribes the channel when the last local subscriber returns', async () => {
    const first = hubB.subscribe('leave');
    const second = hubB.subscribe('leave');
    await hubB.ready('leave');
    expect(await channels(a)).toContain(`${fixture.prefix}events:leave`);
    await first.return?.();
    expect(await channels(a)).toContain(`${fixture.prefix}events:leave`);
    await second.return?.();
    await expect.poll(() => channels(a)).not.toContain(`${fixture.prefix}events:leave`);
    expect(await second.next()).toEqual({ value: undefined, done: true });
  });

  it('ends every open subscription with an error when its subscriber connection is killed, then subscribes again', async () => {
    const handle = await fixture.connect(`${fixture.prefix}replica-c`);
    const hub = await createRedisEventHub<State>(handle, { channelPrefix: `${fixture.prefix}events:`, logger: quietLogger });
    const waiting = hub.subscribe('lost');
    const idle = hub.subscribe('other');
    await Promise.all([hub.ready('lost'), hub.ready('other')]);
    // Handled before the kill: the loss may be seen before CLIENT KILL's own answer.
    const told = expect(waiting.next()).rejects.toThrow(EVENT_BUS_LOST);
    await killSubscriber(a, 'replica-c:events');
    await told;
    await expect(idle.next()).rejects.toThrow(EVENT_BUS_LOST);
    await expect.poll(() => hub.isReady(), { timeout: 5000 }).toBe(true);
    const again = hub.subscribe('lost');
    await hub.ready('lost');
    hubA.publish('lost', { id: 'lost', progress: 99 });
    expect((await next(again)).progress).toBe(99);
    await again.return?.();
  });

  it('refuses a new subscription at once while the subscriber connection is down', async () => {
    const handle = await fixture.connect('replica-d');
    const hub = await createRedisEventHub<State>(handle, { channelPrefix: `${fixture.prefix}events:`, logger: quietLogger });
    await handle.close();
    await expect(hub.subscribe('x').next()).rejects.toThrow(EVENT_BUS_LOST);
  });
});
