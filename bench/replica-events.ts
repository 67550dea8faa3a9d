// Benchmark 8: what crossing replicas adds to an event's latency.
//
// (a) Event hub, in one process: the in-process hub (src/services/events.ts, what one replica
//     without REDIS_URL uses) vs two RedisEventHubs (src/redis/event-hub.ts) on the local Redis,
//     each on its own connections as two replicas would have them: hub A publishes, one subscriber
//     listens on A ("same replica": its own publish comes back through Redis, one path for all) and
//     one on B ("other replica"). Latency = performance.now() at receipt − at publish (one clock).
// (b) End to end: 2 replicas (PostgreSQL + Redis, test/support/replicas.ts) and the simulator; the
//     replica holding the tracker lease publishes the creations' progress, graphql-ws subscribers
//     on it and on the other replica receive. Latency = receipt − the event's updatedAt (stamped by
//     the tracker before its write and publish); and, per event both received, cross − same.
//
//   npx tsx bench/replica-events.ts [--events 3000] [--rate 200] [--creations 10] [--seconds 20] [--interval-ms 200]
import { parseArgs } from 'node:util';
import { connectRedis } from '../src/redis/client.js';
import { createRedisEventHub } from '../src/redis/event-hub.js';
import { createEventHub, type EventHub } from '../src/services/events.js';
import { createLogger } from '../src/logger.js';
import { BENCH_REDIS_URL, benchKeyPrefix, startCluster, startCreations, trackerLeaseHolder } from './support/cluster.js';
import { load, round, saveResult, sleep, summarize, table } from './support/common.js';
import { wsSubscriber, type Subscriber } from './support/subscribers.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '200' },
    creations: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '200' },
    only: { type: 'string' },
  },
});
const EVENTS = Number(args.events);
const RATE = Number(args.rate);
const CREATIONS = Number(args.creations);
const SECONDS = Number(args.seconds);
const INTERVAL_MS = Number(args['interval-ms']);

interface Stamped {
  seq: number;
  at: number;
}

interface Row {
  level: string;
  path: string;
  sent: number;
  received: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  load: string;
}

function row(level: string, path: string, sent: number, samples: number[]): Row {
  const s = summarize(samples);
  return {
    level,
    path,
    sent,
    received: s.n,
    p50: round(s.p50, 2),
    p90: round(s.p90, 2),
    p99: round(s.p99, 2),
    max: round(s.max, 2),
    load: load(),
  };
}

/** Drains a subscription into `samples` until the signal aborts. */
async function collect(hub: EventHub<Stamped>, topic: string, signal: AbortSignal, samples: number[]): Promise<void> {
  try {
    for await (const v of hub.subscribe(topic, { signal, bufferSize: 1000 })) samples.push(performance.now() - v.at);
  } catch {
    // aborted or the bus was stopped: the samples are what counts
  }
}

/** `EVENTS` publishes at `RATE` per second on `publisher`, each stamped with performance.now(). */
async function publishAll(publisher: EventHub<Stamped>, topic: string): Promise<void> {
  const gap = 1000 / RATE;
  const t0 = performance.now();
  for (let seq = 0; seq < EVENTS; seq++) {
    const due = t0 + seq * gap;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    publisher.publish(topic, { seq, at: performance.now() });
  }
  await sleep(500); // the last ones in flight
}

async function hubLevel(): Promise<Row[]> {
  const rows: Row[] = [];
  const topic = 'creation:bench';
  {
    const hub = createEventHub<Stamped>();
    const samples: number[] = [];
    const ctl = new AbortController();
    const done = collect(hub, topic, ctl.signal, samples);
    await sleep(50);
    await publishAll(hub, topic);
    ctl.abort();
    await done;
    rows.push(row('event hub', 'in-process hub (one replica, no Redis)', EVENTS, samples));
  }
  const logger = createLogger('silent', false);
  const prefix = `${benchKeyPrefix('events')}events:`;
  const handleA = await connectRedis(BENCH_REDIS_URL, { logger, name: 'bench-replica-a' });
  const handleB = await connectRedis(BENCH_REDIS_URL, { logger, name: 'bench-replica-b' });
  try {
    const a = await createRedisEventHub<Stamped>(handleA, { channelPrefix: prefix, logger });
    const b = await createRedisEventHub<Stamped>(handleB, { channelPrefix: prefix, logger });
    const same: number[] = [];
    const cross: number[] = [];
    const ctl = new AbortController();
    const done = Promise.all([collect(a, topic, ctl.signal, same), collect(b, topic, ctl.signal, cross)]);
    await sleep(20);
    await Promise.all([a.ready(topic), b.ready(topic)]);
    await publishAll(a, topic);
    ctl.abort();
    await done;
    a.stop();
    b.stop();
    rows.push(row('event hub', 'Redis hub, subscriber on the publishing replica', EVENTS, same));
    rows.push(row('event hub', 'Redis hub, subscriber on another replica', EVENTS, cross));
  } finally {
    await handleA.close();
    await handleB.close();
  }
  return rows;
}

const PROGRESS = `subscription($id: ID!) { amiProgress(id: $id) { id progress message updatedAt } }`;

interface EndToEnd {
  rows: Row[];
  pairedDiff: ReturnType<typeof summarize>;
  publisher: string;
}

async function endToEnd(): Promise<EndToEnd> {
  // 8 GiB at this speed lasts about 3 windows: every creation keeps changing while measured.
  const cluster = await startCluster({ name: 'events', replicas: 2, pollIntervalMs: INTERVAL_MS, speed: 8 / (SECONDS * 3) });
  const subs: Subscriber[] = [];
  try {
    const created = await startCreations(cluster, cluster.replicas[0]!.url, CREATIONS, 'events');
    let holder = trackerLeaseHolder(cluster.replicas);
    for (let i = 0; !holder && i < 50; i++) {
      await sleep(100);
      holder = trackerLeaseHolder(cluster.replicas);
    }
    if (!holder) throw new Error('no replica took the tracker lease of us-east-1');
    const other = cluster.replicas.find((r) => r !== holder)!;
    // Per side: event key (creation id + updatedAt) → receipt time.
    const received = { same: new Map<string, number>(), cross: new Map<string, number>() };
    const follow = (url: string, side: 'same' | 'cross', id: string) =>
      wsSubscriber(url, cluster.token, { query: PROGRESS, variables: { id } }, ({ at, data }) => {
        const p = data.amiProgress as { id: string; updatedAt: string };
        received[side].set(`${p.id} ${p.updatedAt}`, at);
      });
    for (const c of created) subs.push(follow(holder.url, 'same', c.id), follow(other.url, 'cross', c.id));
    await Promise.all(subs.map((s) => s.ready));
    received.same.clear();
    received.cross.clear();
    await sleep(SECONDS * 1000);
    const latency = (m: Map<string, number>) => [...m].map(([key, at]) => at - Date.parse(key.split(' ')[1]!));
    const diffs: number[] = [];
    for (const [key, at] of received.cross) {
      const sameAt = received.same.get(key);
      if (sameAt !== undefined) diffs.push(at - sameAt);
    }
    const sent = new Set([...received.same.keys(), ...received.cross.keys()]).size;
    return {
      publisher: holder.id,
      rows: [
        row('end to end', `graphql-ws subscriber on the tracker's replica (${holder.id})`, sent, latency(received.same)),
        row('end to end', `graphql-ws subscriber on the other replica (${other.id})`, sent, latency(received.cross)),
      ],
      pairedDiff: summarize(diffs),
    };
  } finally {
    for (const s of subs) s.close();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  let e2e: EndToEnd | undefined;
  if (args.only !== 'e2e') rows.push(...(await hubLevel()));
  if (args.only !== 'hub') {
    e2e = await endToEnd();
    rows.push(...e2e.rows);
  }
  console.log(
    `\nEvent latency across replicas (hub: ${EVENTS} events at ${RATE}/s; end to end: ${CREATIONS} creations, poll ${INTERVAL_MS} ms, ${SECONDS} s)\n`,
  );
  console.log(
    table(
      ['level', 'subscriber', 'events', 'received', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'load avg'],
      rows.map((r) => [r.level, r.path, r.sent, r.received, r.p50, r.p90, r.p99, r.max, r.load]),
    ),
  );
  const hub = rows.filter((r) => r.level === 'event hub');
  if (hub.length === 3) {
    console.log(
      `\nhub: crossing adds p50 ${round(hub[2]!.p50 - hub[1]!.p50, 2)} ms, p99 ${round(hub[2]!.p99 - hub[1]!.p99, 2)} ms over the publishing replica; Redis adds p99 ${round(hub[1]!.p99 - hub[0]!.p99, 2)} ms over the in-process hub`,
    );
  }
  if (e2e) {
    const [same, cross] = e2e.rows;
    const d = e2e.pairedDiff;
    console.log(
      `end to end: cross − same p50 ${round(cross!.p50 - same!.p50, 1)} ms, p99 ${round(cross!.p99 - same!.p99, 1)} ms (target ≤ 20 ms); ` +
        `paired per event (${d.n}): p50 ${round(d.p50, 1)} ms, p99 ${round(d.p99, 1)} ms, max ${round(d.max, 1)} ms`,
    );
  }
  console.log(
    `\nresults: ${saveResult('replica-events', { events: EVENTS, rate: RATE, creations: CREATIONS, seconds: SECONDS, intervalMs: INTERVAL_MS, rows, pairedDiff: e2e?.pairedDiff })}`,
  );
}

await main();
