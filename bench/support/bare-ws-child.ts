// The floor for fan-out on this machine: a bare `ws` server that answers graphql-ws's handshake and
// broadcasts one payload to every socket (JSON.stringify once, send to each), in its own process.
//
//   node --expose-gc --import tsx bench/support/bare-ws-child.ts
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

type Request =
  | { id: number; cmd: 'usage'; gc?: boolean }
  | { id: number; cmd: 'broadcast'; data: Record<string, unknown> }
  | { id: number; cmd: 'stop' };

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/graphql', perMessageDeflate: false });
wss.on('connection', (socket: WebSocket) => {
  socket.on('message', (raw: Buffer) => {
    const msg = JSON.parse(raw.toString()) as { type: string };
    if (msg.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
  });
});
await new Promise<void>((r) => wss.once('listening', () => r()));
const { port } = wss.address() as AddressInfo;
process.send!({ type: 'ready', url: `http://127.0.0.1:${port}/graphql`, token: 'none' });

process.on('message', (msg: Request) => {
  if (msg.cmd === 'usage') {
    if (msg.gc && typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send!({
      type: 'reply',
      id: msg.id,
      usage: {
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        external: mem.external,
      },
    });
  } else if (msg.cmd === 'broadcast') {
    // The same frame a graphql-ws server sends, stamped now.
    const text = JSON.stringify({
      id: '1',
      type: 'next',
      payload: { data: { amiProgress: { ...msg.data, updatedAt: new Date().toISOString() } } },
    });
    for (const client of wss.clients) client.send(text);
    process.send!({ type: 'reply', id: msg.id });
  } else if (msg.cmd === 'stop') {
    for (const c of wss.clients) c.terminate();
    wss.close(() => process.send!({ type: 'reply', id: msg.id }, () => process.exit(0)));
  }
});
process.on('disconnect', () => process.exit(0));
