// Responsible for SSE subscribers in cohorts (yoga's distinct-connection mode: Accept:
// text/event-stream). Each subscriber still goes through envelop's subscribe, so the caps, metrics
// and error masking hooks see it open and end; but what it joins is a cohort (cohorts.ts) whose
// results reach it without a per-subscriber iteration: each result is masked once, framed once as
// `event: next` bytes, and the same bytes are pushed onto every member's response stream. Yoga's
// own SSE writer would encode and stream each result again for every subscriber.
//
// Single-connection streams (sse-single-connection.ts, graphql-sse's writer) and multipart
// responses iterate results themselves: they join the cohort as an iterator of its results.
import { Readable } from 'node:stream';
import type { DocumentNode, ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import { SINGLE_CONNECTION_STREAM } from './connection-caps.js';
import {
  cohortKey,
  isAsyncIterable,
  joinAsStream,
  replaysCurrentState,
  type CohortMember,
  type Cohorts,
  type Membership,
  type Upstream,
} from './cohorts.js';

/** What each shared result becomes before it is framed: yoga's error masking, applied once per cohort. */
export type MaskResult = (result: ExecutionResult) => ExecutionResult;

/**
 * Cohorts for subscriptions yoga streams itself: the plugin swaps in a subscribe that joins the
 * cohort of the same key. graphql-ws subscriptions are joined at the transport (graphql-ws.ts) and
 * pass through.
 */
export function sseCohortsPlugin(cohorts: Cohorts, mask: MaskResult): Plugin {
  // A joined subscriber's stream, from its subscribe to its result processing (same request).
  const streams = new WeakMap<Request, SseStream>();
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const context = args.contextValue as unknown as Context & Record<string, unknown>;
      if ('socket' in context || 'extra' in context) return;
      const document = args.document as DocumentNode;
      const operationName = args.operationName as string | null | undefined;
      const key = cohortKey(document, operationName, args.variableValues, context.viewer);
      if (key === undefined) return;
      const replay = replaysCurrentState(document, operationName);
      // Its own key space: this upstream is inside envelop (masked here, once), graphql-ws's is
      // envelop's whole subscribe; the two must never share.
      const sse = `sse\n${key}`;
      const starter = (own: unknown) => () => maskedUpstream(subscribeFn(own as never) as Promise<Upstream>, mask);
      const request = (context as { request?: Request }).request;
      if (!request || SINGLE_CONNECTION_STREAM in context || !acceptsEventStream(request)) {
        setSubscribeFn((own) => joinAsStream(cohorts, sse, starter(own), replay));
        return;
      }
      setSubscribeFn(async (own) => {
        const stream = new SseStream();
        const joined = await cohorts.join(sse, starter(own), stream.member, replay);
        if (isMembership(joined)) streams.set(request, stream);
        else stream.destroy();
        return joined;
      });
    },
    onResultProcess(payload) {
      const stream = streams.get(payload.request);
      if (!stream || !isAsyncIterable(payload.result)) return;
      streams.delete(payload.request);
      const membership = payload.result;
      payload.setResultProcessor((_result, fetchAPI) => stream.respond(membership, fetchAPI), 'text/event-stream');
    },
  };
}

function acceptsEventStream(request: Request): boolean {
  return request.headers.get('accept')?.includes('text/event-stream') === true;
}

/** The upstream's results masked as they pass, once for the cohort (envelop's masking leaves them as they are). */
async function maskedUpstream(started: Promise<Upstream>, mask: MaskResult): Promise<Upstream> {
  const upstream = await started;
  if (!isAsyncIterable(upstream)) return upstream;
  const inner = upstream[Symbol.asyncIterator]();
  // Not an async generator: return() must reach the upstream while a next() is pending.
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: () => inner.next().then((step) => (step.done ? step : { done: false, value: mask(step.value) })),
    return: () => inner.return?.() ?? Promise.resolve({ done: true, value: undefined }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** The JSON yoga's SSE writer sends: errors without their `http` (status, headers) and `unexpected` extensions. */
function clientJson(json: string, result: ExecutionResult): string {
  if (!result.errors?.length) return json;
  return JSON.stringify({ ...result, errors: result.errors.map(withoutInternals) });
}

function withoutInternals(error: GraphQLError): unknown {
  const json = error.toJSON();
  if (!json.extensions) return json;
  const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
  return { ...json, extensions: Object.keys(extensions).length ? extensions : undefined };
}

/** Bytes an SSE member may have queued before it counts as slow; then only its newest result waits. */
const HIGH_WATER_MARK = 8 * 1024;
/** Keeps proxies from closing an idle stream (yoga's interval). */
const PING_INTERVAL_MS = 12_000;
const PING = Buffer.from(':\n\n');
const COMPLETE = Buffer.from('event: complete\ndata:\n\n');
const HEADERS = {
  'content-type': 'text/event-stream',
  connection: 'keep-alive',
  'cache-control': 'no-cache',
  'content-encoding': 'none',
};

/** Each shared result framed once: the same bytes for every member of its cohort. */
const FRAMES = new WeakMap<ExecutionResult, Buffer>();

function frameOf(json: string, result: ExecutionResult): Buffer {
  let frame = FRAMES.get(result);
  if (frame === undefined) FRAMES.set(result, (frame = Buffer.from(`event: next\ndata: ${clientJson(json, result)}\n\n`)));
  return frame;
}

/**
 * One subscriber's response body. Frames are pushed as they come; a slow reader (past
 * HIGH_WATER_MARK queued) keeps the newest only, as the event hub does, and gets it when it drains
 * and before the stream completes: every result is the full current state.
 */
class SseStream extends Readable {
  private blocked = false;
  private waiting: Buffer | undefined;

  readonly member: CohortMember = {
    next: (json, result) => this.send(frameOf(json, result)),
    flush: () => this.flushWaiting(),
  };

  constructor() {
    super({ highWaterMark: HIGH_WATER_MARK });
    // Some browsers hold the response until its first bytes (yoga's writer starts the same way).
    this.push(PING);
    watchPings(this);
  }

  override _read(): void {
    this.blocked = false;
    this.flushWaiting();
  }

  /** The response: open until the membership ends (complete) or the client leaves (return()). */
  respond(membership: AsyncIterable<unknown>, fetchAPI: { Response: typeof Response }): Response {
    const iterator = membership[Symbol.asyncIterator]();
    this.follow(iterator).catch((error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))));
    // The server destroys the body when the client goes (a closed response).
    this.once('close', () => void iterator.return?.());
    return new fetchAPI.Response(this as unknown as BodyInit, { status: 200, headers: HEADERS });
  }

  /**
   * A membership yields no values of its own: the one value that can come is yoga's answer to a
   * stream that failed (the cohort's upstream threw, e.g. a creation that is not the viewer's),
   * sent as yoga's writer would send it; nothing follows it.
   */
  private async follow(iterator: AsyncIterator<unknown>): Promise<void> {
    const step = await iterator.next();
    if (!step.done) {
      const result = step.value as ExecutionResult;
      this.send(frameOf(JSON.stringify(result), result));
      await iterator.return?.();
    }
    this.complete();
  }

  send(frame: Buffer): void {
    if (this.destroyed || this.readableEnded) return;
    if (this.blocked) this.waiting = frame;
    else if (!this.push(frame)) this.blocked = true;
  }

  ping(): void {
    if (!this.blocked && !this.destroyed) this.push(PING);
  }

  private flushWaiting(): void {
    const last = this.waiting;
    this.waiting = undefined;
    if (last !== undefined && !this.destroyed && !this.push(last)) this.blocked = true;
  }

  private complete(): void {
    if (this.destroyed || this.readableEnded) return;
    this.flushWaiting();
    this.push(COMPLETE);
    this.push(null);
  }
}

/** One timer pings every open stream (not one timer per subscriber). */
const pinged = new Set<SseStream>();
let pingTimer: NodeJS.Timeout | undefined;

function watchPings(stream: SseStream): void {
  pinged.add(stream);
  pingTimer ??= setInterval(() => pinged.forEach((s) => s.ping()), PING_INTERVAL_MS).unref();
  stream.once('close', () => {
    pinged.delete(stream);
    if (pinged.size > 0 || !pingTimer) return;
    clearInterval(pingTimer);
    pingTimer = undefined;
  });
}

function isMembership(joined: Membership | ExecutionResult): joined is Membership {
  return 'next' in joined;
}
