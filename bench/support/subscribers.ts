// Minimal subscribers for the benchmarks: the graphql-ws protocol ("graphql-transport-ws") spoken
// directly on a `ws` socket, and a Server-Sent Events reader on node:http. Thousands of them run in
// one process, so they do as little as possible per message: note the receive time, parse, count.
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export interface Received {
  /** Date.now() when the message arrived. */
  at: number;
  data: Record<string, unknown>;
}

export interface Subscriber {
  /** Resolves once the server acknowledged the connection and the subscription was sent. */
  ready: Promise<void>;
  close(): void;
}

export function wsSubscriber(
  url: string,
  token: string,
  payload: { query: string; variables?: Record<string, unknown> } | null,
  onNext: (r: Received) => void,
): Subscriber {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { perMessageDeflate: false });
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  ws.on('message', (raw: Buffer) => {
    const at = Date.now();
    const msg = JSON.parse(raw.toString()) as { type: string; payload?: { data?: Record<string, unknown> } };
    if (msg.type === 'connection_ack') {
      // With a subscription, ready means its first value (the current state) has arrived.
      if (payload) ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
      else resolveReady();
    } else if (msg.type === 'next' && msg.payload?.data) {
      resolveReady();
      onNext({ at, data: msg.payload.data });
    } else if (msg.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong' }));
    } else if (msg.type === 'error') {
      rejectReady(new Error(`subscription error: ${JSON.stringify(msg.payload)}`));
    }
  });
  ws.on('error', (err) => rejectReady(err));
  ws.on('close', (code) => rejectReady(new Error(`socket closed (${code})`)));
  return { ready, close: () => ws.terminate() };
}

const sseAgent = new Agent({ keepAlive: false, maxSockets: Infinity });

export function sseSubscriber(
  url: string,
  token: string,
  payload: { query: string; variables?: Record<string, unknown> },
  onNext: (r: Received) => void,
): Subscriber {
  const body = JSON.stringify(payload);
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const req = request(url, {
    method: 'POST',
    agent: sseAgent,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      rejectReady(new Error(`SSE HTTP ${res.statusCode}`));
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    let buffer = '';
    let first = true;
    res.on('data', (chunk: string) => {
      const at = Date.now();
      buffer += chunk;
      let idx;
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        const parsed = JSON.parse(data) as { data?: Record<string, unknown> };
        if (first) {
          first = false;
          resolveReady();
        }
        if (parsed.data) onNext({ at, data: parsed.data });
      }
    });
  });
  req.on('error', (err) => rejectReady(err));
  req.end(body);
  return { ready, close: () => req.destroy() };
}
