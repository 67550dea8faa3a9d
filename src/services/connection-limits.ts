// Responsible for the per-user caps on live connections (graphql-ws sockets and SSE streams together)
// and subscriptions, and the server-wide ceiling on connections, so that one user (or a leaked
// token, or many tokens together) cannot take the service from the others. Counted in this process;
// replicas count in Redis behind the same interface (src/redis/connection-limits.ts, DESIGN §9), so
// callers await acquire(), and a refusal may also say that the shared count cannot be reached.

import { once } from './once.js';

/** A cap, or REDIS_UNAVAILABLE: the replicas' shared count could not be checked (answered as 503). */
export type LimitName = 'MAX_CONNECTIONS_PER_USER' | 'MAX_CONNECTIONS' | 'MAX_SUBSCRIPTIONS_PER_USER' | 'REDIS_UNAVAILABLE';

/** What is counted: a connection (graphql-ws socket, SSE stream) or one subscription on it. */
export type LimitKind = 'connection' | 'subscription';

export interface LimitRefusal {
  ok: false;
  limit: LimitName;
  max: number;
  /** For the client: which cap, and the variable that sets it. */
  message: string;
}

export interface Lease {
  ok: true;
  /** Gives the slot back; a second call does nothing. */
  release(): void;
}

export interface LimitCounts {
  connections: number;
  subscriptions: number;
  /** Users with at least one connection or subscription counted. */
  users: number;
}

export interface ConnectionLimiter {
  acquire(kind: LimitKind, user: string): Promise<Lease | LimitRefusal>;
  counts(): LimitCounts;
}

export interface ConnectionCaps {
  maxConnectionsPerUser: number;
  maxSubscriptionsPerUser: number;
  maxConnections: number;
}

export function createConnectionLimiter(caps: ConnectionCaps, onRefusal?: (limit: LimitName) => void): ConnectionLimiter {
  const perUser = new Map<string, Record<LimitKind, number>>();
  const total: Record<LimitKind, number> = { connection: 0, subscription: 0 };

  function refusal(limit: LimitName, max: number): LimitRefusal {
    onRefusal?.(limit);
    return { ok: false, limit, max, message: refusalMessage(limit, max) };
  }

  function take(kind: LimitKind, user: string): Lease | LimitRefusal {
    const mine = perUser.get(user) ?? { connection: 0, subscription: 0 };
    if (kind === 'connection' && total.connection >= caps.maxConnections) return refusal('MAX_CONNECTIONS', caps.maxConnections);
    if (kind === 'connection' && mine.connection >= caps.maxConnectionsPerUser) {
      return refusal('MAX_CONNECTIONS_PER_USER', caps.maxConnectionsPerUser);
    }
    if (kind === 'subscription' && mine.subscription >= caps.maxSubscriptionsPerUser) {
      return refusal('MAX_SUBSCRIPTIONS_PER_USER', caps.maxSubscriptionsPerUser);
    }
    mine[kind] += 1;
    total[kind] += 1;
    perUser.set(user, mine);
    return {
      ok: true,
      release: once(() => {
        mine[kind] -= 1;
        total[kind] -= 1;
        // An idle user is forgotten, so the map does not grow with every token ever seen.
        if (mine.connection === 0 && mine.subscription === 0) perUser.delete(user);
      }),
    };
  }

  return {
    acquire: (kind, user) => Promise.resolve(take(kind, user)),
    counts: () => ({ connections: total.connection, subscriptions: total.subscription, users: perUser.size }),
  };
}

/** Short enough for a WebSocket close reason (at most 123 bytes). */
export function refusalMessage(limit: LimitName, max: number): string {
  switch (limit) {
    case 'MAX_CONNECTIONS_PER_USER':
      return `Too many connections: at most ${max} per user, WebSocket and SSE together (MAX_CONNECTIONS_PER_USER)`;
    case 'MAX_CONNECTIONS':
      return `Server busy: at most ${max} connections of all users together (MAX_CONNECTIONS)`;
    case 'MAX_SUBSCRIPTIONS_PER_USER':
      return `Too many subscriptions: at most ${max} per user (MAX_SUBSCRIPTIONS_PER_USER)`;
    case 'REDIS_UNAVAILABLE':
      return 'Service unavailable: connections are counted in Redis, which cannot be reached now; retry shortly';
  }
}
