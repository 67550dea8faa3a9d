// Responsible for one execution per cohort: subscribers of the same document, variables and
// authorization scope share one upstream subscription (envelop's subscribe, so auth, masking and
// metrics hooks run for it), and each of its results is serialized once and handed to every member
// as a JSON string; the transport wraps it in its own frame by concatenation.
//
// A member joining a running cohort of a current-state-first field (amiProgress: "current state at
// once, then every change") gets the cohort's last result first; one leaving does not end the cohort
// for the others; the last one leaving ends the upstream (return()). The end or error of the
// upstream reaches every member.
import { getOperationAST, Kind, print, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Viewer } from '../services/viewer.js';

/** What a transport gives a cohort for one subscriber. */
export interface CohortMember {
  /** One result, already serialized (the same string and object for every member). */
  next(json: string, result: ExecutionResult): void;
  /** Called once before the member's stream ends, so that what it holds back goes out first. */
  flush?(): void;
}

/** An upstream stream, or the single result of a subscription that did not start (refused, not found). */
export type Upstream = AsyncIterable<ExecutionResult> | ExecutionResult;

/** A member's stream of no values: it ends when the cohort's stream does, and leaves on return(). */
export type Membership = AsyncGenerator<never, void, unknown>;

export interface CohortStats {
  /** Upstream results serialized (one per event per cohort). */
  executions: number;
  /** Messages handed to members (one per event per subscriber). */
  delivered: number;
  /** Cohorts running now. */
  cohorts: number;
}

/** What the cohorts report, per transport (the key's first line for SSE; 'ws' otherwise). */
export interface CohortHooks {
  /** `delta` members joined (+) or left (−) a cohort beyond its first, whose execution counts already. */
  onShared?(transport: string, delta: number): void;
  /** `executions` results executed (0 for a replay to a joiner) and `messages` handed to subscribers. */
  onDelivered?(transport: string, executions: number, messages: number): void;
}

export interface Cohorts {
  /** Joins the cohort `key`, started with `start` when there is none; or the single result when it did not start. */
  join(
    key: string,
    start: () => Promise<Upstream> | Upstream,
    member: CohortMember,
    replay: boolean,
  ): Promise<Membership | ExecutionResult>;
  readonly stats: CohortStats;
}

interface Member {
  transport: CohortMember;
  end(error?: unknown): void;
}

interface Cohort {
  members: Set<Member>;
  started: Promise<AsyncIterator<ExecutionResult> | ExecutionResult>;
  iterator?: AsyncIterator<ExecutionResult>;
  last?: { json: string; result: ExecutionResult };
}

export function createCohorts(hooks: CohortHooks = {}): Cohorts {
  const cohorts = new Map<string, Cohort>();
  const stats: CohortStats = { executions: 0, delivered: 0, cohorts: 0 };

  function dissolve(key: string, cohort: Cohort): void {
    if (cohorts.get(key) === cohort) cohorts.delete(key);
    stats.cohorts = cohorts.size;
  }

  async function pump(key: string, cohort: Cohort, iterator: AsyncIterator<ExecutionResult>): Promise<void> {
    let failure: unknown;
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done) break;
        // GraphQLError has toJSON: the same JSON graphql-ws and yoga's SSE would send.
        const result = step.value;
        const json = serializeOnce(result);
        stats.executions++;
        cohort.last = { json, result };
        for (const m of cohort.members) m.transport.next(json, result);
        stats.delivered += cohort.members.size;
        hooks.onDelivered?.(transportOf(key), 1, cohort.members.size);
      }
    } catch (error) {
      failure = error ?? new Error('subscription failed');
    }
    dissolve(key, cohort);
    const members = [...cohort.members];
    cohort.members.clear();
    if (members.length > 1) hooks.onShared?.(transportOf(key), -(members.length - 1));
    for (const m of members) m.end(failure);
  }

  function open(key: string, start: () => Promise<Upstream> | Upstream): Cohort {
    const cohort: Cohort = { members: new Set(), started: undefined as never };
    cohort.started = (async () => {
      const upstream = await start();
      if (!isAsyncIterable(upstream)) return upstream;
      return upstream[Symbol.asyncIterator]();
    })();
    cohort.started.then(
      (started) => {
        if (!isIterator(started)) return dissolve(key, cohort);
        cohort.iterator = started;
        void pump(key, cohort, started);
      },
      () => dissolve(key, cohort),
    );
    cohorts.set(key, cohort);
    stats.cohorts = cohorts.size;
    return cohort;
  }

  async function join(key: string, start: () => Promise<Upstream> | Upstream, transport: CohortMember, replay: boolean) {
    const cohort = cohorts.get(key) ?? open(key, start);
    const started = await cohort.started;
    if (!isIterator(started)) return started;
    const leave = (member: Member) => {
      if (!cohort.members.delete(member)) return;
      if (cohort.members.size > 0) return hooks.onShared?.(transportOf(key), -1);
      dissolve(key, cohort);
      void cohort.iterator?.return?.();
    };
    const member = new MemberStream(transport, leave);
    cohort.members.add(member);
    if (cohort.members.size > 1) hooks.onShared?.(transportOf(key), 1);
    if (replay && cohort.last !== undefined) {
      transport.next(cohort.last.json, cohort.last.result);
      stats.delivered++;
      hooks.onDelivered?.(transportOf(key), 0, 1);
    }
    return member;
  }

  return { join, stats };
}

/**
 * A member, and the stream of no values its transport iterates (graphql-ws awaits it, then
 * completes). A class: thousands are alive at once, methods shared.
 */
class MemberStream implements Member, Membership {
  private finished = false;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private readonly ended = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    readonly transport: CohortMember,
    private readonly leave: (member: Member) => void,
  ) {
    // Nobody may be awaiting it (the transport left first): that is not an unhandled rejection.
    this.ended.catch(() => undefined);
  }

  end(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.transport.flush?.();
    if (error === undefined) this.settle.resolve();
    else this.settle.reject(error);
  }

  next(): Promise<IteratorReturnResult<void>> {
    return this.ended.then(() => DONE);
  }

  return(): Promise<IteratorReturnResult<void>> {
    this.leave(this);
    this.end();
    return Promise.resolve(DONE);
  }

  async throw(error: unknown): Promise<IteratorReturnResult<void>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const DONE: IteratorReturnResult<void> = { value: undefined, done: true };

/**
 * The result's JSON, made once. Yoga's SSE (and multipart) writer calls a result's own stringify:
 * this JSON. Not enumerable, so a copy (error masking makes one) is serialized afresh.
 */
function serializeOnce(result: ExecutionResult): string {
  const json = JSON.stringify(result);
  if (Object.isExtensible(result) && !('stringify' in result)) {
    Object.defineProperty(result, 'stringify', { value: () => json, configurable: true });
  }
  return json;
}

/** Keys of SSE cohorts start with `sse\n` (sse-cohorts.ts); graphql-ws's with the viewer's scope. */
function transportOf(key: string): string {
  return key.startsWith('sse\n') ? 'sse' : 'ws';
}

/** Results a slow stream member keeps (the newest; every one is the full current state). */
const STREAM_BUFFER = 8;

/**
 * A member as an iterator of the cohort's result objects, for transports that iterate (yoga's SSE
 * inside envelop, so that each subscriber's masking and metrics hooks still run); a slow reader keeps
 * the newest STREAM_BUFFER, like the event hub. Or the single result when it did not start.
 */
export async function joinAsStream(
  cohorts: Cohorts,
  key: string,
  start: () => Promise<Upstream> | Upstream,
  replay: boolean,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const queue: ExecutionResult[] = [];
  let wake: (() => void) | undefined;
  const joined = await cohorts.join(
    key,
    start,
    {
      next(_json, result) {
        queue.push(result);
        if (queue.length > STREAM_BUFFER) queue.shift();
        wake?.();
      },
    },
    replay,
  );
  if (!('next' in joined)) return joined;
  let end: { error?: unknown } | undefined;
  joined
    .next()
    .then(
      () => (end ??= {}),
      (error: unknown) => (end ??= { error }),
    )
    .finally(() => wake?.());
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      while (queue.length === 0 && !end) await new Promise<void>((resolve) => (wake = resolve));
      if (queue.length > 0) return { value: queue.shift()!, done: false };
      if (end?.error !== undefined) throw end.error instanceof Error ? end.error : new Error('subscription failed');
      return { value: undefined, done: true };
    },
    async return() {
      end ??= {};
      queue.length = 0;
      wake?.();
      await joined.return(undefined);
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The cohort key, or undefined when the operation may not be shared: the viewer carries something
 * besides its name and admin flag that a resolver might read. Variables are keyed with sorted object
 * keys, so that the same values in another order share.
 */
export function cohortKey(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: unknown,
  viewer: Viewer | undefined,
): string | undefined {
  if (!viewer || Object.keys(viewer).some((k) => k !== 'user' && k !== 'admin')) return undefined;
  const scope = JSON.stringify([viewer.user, viewer.admin === true]);
  return `${scope}\n${operationName ?? ''}\n${stableJson(variables ?? {})}\n${printed(document)}`;
}

/**
 * Subscription fields whose stream starts with the current state (a joiner gets the cohort's last
 * result first); the others send changes only, so a joiner waits for the next one.
 */
const CURRENT_STATE_FIRST = new Set(['amiProgress']);

export function replaysCurrentState(document: DocumentNode, operationName: string | null | undefined): boolean {
  const fields = getOperationAST(document, operationName)?.selectionSet.selections ?? [];
  return fields.length > 0 && fields.every((s) => s.kind === Kind.FIELD && CURRENT_STATE_FIRST.has(s.name.value));
}

/** Documents come from yoga's parse cache: the same object for the same text, printed once. */
const PRINTED = new WeakMap<DocumentNode, string>();

function printed(document: DocumentNode): string {
  let text = PRINTED.get(document);
  if (text === undefined) PRINTED.set(document, (text = print(document)));
  return text;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isIterator(value: AsyncIterator<ExecutionResult> | ExecutionResult): value is AsyncIterator<ExecutionResult> {
  return typeof (value as AsyncIterator<ExecutionResult>).next === 'function';
}

/** Bytes a socket may have queued before it counts as slow; then only its newest result waits. */
const MAX_BUFFERED = 16 * 1024;
/** How often a slow socket is looked at again for room. */
const RETRY_MS = 25;

/** What framedMember needs of a socket (ws's WebSocket). */
export interface FrameSocket {
  readonly readyState: number;
  readonly OPEN: number;
  /** Bytes queued and not yet written to the network. */
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: false }): void;
}

/** Each shared result's JSON as bytes, encoded once for every member of its cohort. */
const ENCODED = new WeakMap<ExecutionResult, Buffer>();

function encodedOnce(json: string, result: ExecutionResult): Buffer {
  let bytes = ENCODED.get(result);
  if (bytes === undefined) ENCODED.set(result, (bytes = Buffer.from(json)));
  return bytes;
}

/**
 * A member that writes `head + json + tail` as one text frame. The JSON is encoded once per result
 * and copied, not encoded again, per member; no write callback per message. A slow socket keeps the
 * bounded behaviour of the event hub: every result is the full current state, so past MAX_BUFFERED
 * queued bytes it keeps only the newest, sends it when there is room again, and never loses the last
 * (flushed before the stream ends). A class: thousands are alive at once, methods shared.
 */
export class FramedMember implements CohortMember {
  private readonly headLength: number;
  private readonly tailLength: number;
  private waiting: Buffer | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: FrameSocket,
    private readonly head: string,
    private readonly tail: string,
  ) {
    this.headLength = Buffer.byteLength(head);
    this.tailLength = Buffer.byteLength(tail);
  }

  next(json: string, result: ExecutionResult): void {
    if (!this.open()) return;
    const frame = this.frame(encodedOnce(json, result));
    if (this.waiting === undefined && this.socket.bufferedAmount <= MAX_BUFFERED) return this.send(frame);
    this.waiting = frame;
    this.retry ??= setTimeout(() => this.sendWhenRoom(), RETRY_MS);
  }

  flush(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    const last = this.waiting;
    this.waiting = undefined;
    if (last !== undefined && this.open()) this.send(last);
  }

  private frame(body: Buffer): Buffer {
    const frame = Buffer.allocUnsafe(this.headLength + body.length + this.tailLength);
    frame.write(this.head, 0);
    body.copy(frame, this.headLength);
    frame.write(this.tail, this.headLength + body.length);
    return frame;
  }

  private sendWhenRoom(): void {
    this.retry = undefined;
    if (!this.open() || this.waiting === undefined) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED) {
      this.retry = setTimeout(() => this.sendWhenRoom(), RETRY_MS);
      return;
    }
    this.send(this.waiting);
    this.waiting = undefined;
  }

  private open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  private send(frame: Buffer): void {
    this.socket.send(frame, { binary: false });
  }
}
