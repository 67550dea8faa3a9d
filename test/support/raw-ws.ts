// A bare graphql-ws (graphql-transport-ws) client over `ws`, for tests that count sockets and
// messages exactly: open a connection, start subscriptions by id, read close codes and error messages.
import WebSocket from 'ws';

export interface RawConnection {
  socket: WebSocket;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Every message received, in order. */
  messages: { id?: string; type: string; payload?: unknown }[];
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  complete(id: string): void;
  /** The first message for `id` of one of `types` (next, error, complete). */
  first(id: string, types: string[], timeoutMs?: number): Promise<{ type: string; payload?: unknown }>;
  close(): Promise<void>;
}

/** Opens a socket and sends connection_init; resolves once acknowledged, or closed (see `acked`). */
export async function openRaw(url: string, token: string | undefined): Promise<RawConnection & { acked: boolean }> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: RawConnection['messages'] = [];
  const waiters = new Set<() => void>();
  // By operation id, so that thousands of operations on one socket stay cheap to wait for.
  const byId = new Map<string, RawConnection['messages']>();
  const idWaiters = new Map<string, Set<() => void>>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    socket.once('error', () => resolve({ code: 1006, reason: 'error' }));
  });
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as RawConnection['messages'][number];
    messages.push(message);
    if (message.id === undefined) for (const w of waiters) w();
    else {
      byId.set(message.id, [...(byId.get(message.id) ?? []), message]);
      for (const w of idWaiters.get(message.id) ?? []) w();
    }
  });
  const send = (m: unknown) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(m));
  const acked = await new Promise<boolean>((resolve) => {
    socket.once('open', () => send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} }));
    waiters.add(function ack() {
      if (messages.some((m) => m.type === 'connection_ack')) {
        waiters.delete(ack);
        resolve(true);
      }
    });
    void closed.then(() => resolve(false));
  });
  return {
    socket,
    closed,
    messages,
    acked,
    subscribe: (id, query, variables) => send({ id, type: 'subscribe', payload: { query, variables } }),
    complete: (id) => send({ id, type: 'complete' }),
    first: (id, types, timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} for ${id} within ${timeoutMs} ms`)), timeoutMs);
        const mine = idWaiters.get(id) ?? new Set<() => void>();
        idWaiters.set(id, mine);
        const check = () => {
          const m = byId.get(id)?.find((x) => types.includes(x.type));
          if (!m) return;
          mine.delete(check);
          clearTimeout(timer);
          resolve(m);
        };
        mine.add(check);
        check();
      }),
    close: async () => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
      await closed;
    },
  };
}
