// Region leases on PostgreSQL: session-level advisory locks, one per region and loop, held on one
// dedicated connection per replica and loop. A session lock belongs to its connection, so when a
// replica dies PostgreSQL drops the connection and the locks with it, and another replica's next
// pg_try_advisory_lock takes the region. Not a pool: a pooled connection would carry the locks
// away to whoever borrows it next. Also withAdvisoryLock, for work that must run once when
// replicas start together (migrations).
import pg from 'pg';
import type { Logger } from 'pino';

/** Which loop a family of leases is for: a replica may hold a region's tracker lease and not its reconciler lease. */
export type LeaseScope = 'tracker' | 'reconciler';

/** The advisory lock's first key, one per loop; the second is hashtext(region), computed by PostgreSQL. */
const SCOPE_CLASS_ID: Record<LeaseScope, number> = { tracker: 0x7072_0001, reconciler: 0x7072_0002 };

/**
 * Let PostgreSQL notice a replica that vanished without closing its socket (a network partition, a
 * host gone) within about 25 s and free its regions; the replica itself gives up sooner (keepalive
 * plus query timeout), so two replicas never both believe they hold a region.
 */
const SERVER_KEEPALIVES = 'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';

export interface PgRegionLeasesOptions {
  connectionString: string;
  scope: LeaseScope;
  logger: Logger;
  /** Shown in pg_stat_activity (default `prism-ami <scope> leases`). */
  applicationName?: string;
  /** While regions are held, the connection is checked with SELECT 1 this often (default 5 s); holds() on a held region sends no query of its own, it waits for a check only when one is due. */
  keepaliveMs?: number;
  /** A query or connection attempt slower than this means the connection is lost (default 10 s). */
  timeoutMs?: number;
  /** Waits between failed reconnects double from the first to the cap (defaults 500 ms and 10 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface PgRegionLeases {
  /** Whether this replica may poll `region` now; acquires the region when free. Never throws (an error means "not held"). */
  holds(region: string): Promise<boolean>;
  /** Regions held now. */
  held(): string[];
  /** Gives the region up, so another replica may take it. */
  release(region: string): Promise<void>;
  /** Gives every region up and closes the connection. */
  close(): Promise<void>;
}

export function createPgRegionLeases(options: PgRegionLeasesOptions): PgRegionLeases {
  const { scope } = options;
  const log = options.logger.child({ component: 'region-leases', scope });
  const classId = SCOPE_CLASS_ID[scope];
  const held = new Set<string>();
  const pending = new Map<string, Promise<boolean>>();
  const conn = createLeaseConnection(options, log, () => {
    // Whatever this replica held went with the connection: it owns nothing until it acquires again.
    const lost = [...held];
    held.clear();
    return lost;
  });
  const keepalive = createKeepalive(conn, options.keepaliveMs ?? 5000, () => held.size > 0);

  async function check(region: string): Promise<boolean> {
    const client = await conn.get();
    if (!client) return false;
    try {
      if (held.has(region)) return (await keepalive.alive(client)) && held.has(region) && conn.current() === client;
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int4, hashtext($2)) AS ok', [
        classId,
        region,
      ]);
      keepalive.seen(client);
      // A connection lost while the query ran took the lock with it.
      if (!rows[0]?.ok || conn.current() !== client) return false;
      held.add(region);
      log.info({ region }, 'region lease acquired');
      return true;
    } catch (err) {
      // A query that failed or timed out leaves the session in doubt: start over on a new one.
      conn.drop(client, err);
      return false;
    }
  }

  return {
    holds(region) {
      if (conn.closed()) return Promise.resolve(false);
      // One question per region at a time: a session lock is re-entrant, and a second acquisition would need a second unlock.
      let answer = pending.get(region);
      if (!answer) {
        answer = check(region).finally(() => pending.delete(region));
        pending.set(region, answer);
      }
      return answer;
    },
    held: () => [...held].sort(),
    async release(region) {
      const client = conn.current();
      if (!held.delete(region) || !client) return;
      try {
        await client.query('SELECT pg_advisory_unlock($1::int4, hashtext($2))', [classId, region]);
        log.info({ region }, 'region lease released');
      } catch (err) {
        conn.drop(client, err);
      }
    },
    async close() {
      keepalive.stop();
      held.clear();
      await conn.end();
    },
  };
}

/**
 * Whether the connection still answers, asked with SELECT 1 at most once per `everyMs` (a held
 * region's holds() costs no query in between), and on a timer while regions are held, so a
 * connection gone silent is noticed even by a loop that asks seldom. A SELECT 1 that fails or
 * times out drops the connection.
 */
function createKeepalive(conn: LeaseConnection, everyMs: number, holding: () => boolean) {
  let last: { client: pg.Client; at: number } | undefined;
  let ping: { client: pg.Client; answer: Promise<boolean> } | undefined;
  const alive = (client: pg.Client): Promise<boolean> => {
    if (last?.client === client && Date.now() - last.at < everyMs) return Promise.resolve(true);
    if (ping?.client !== client) {
      const answer = client.query('SELECT 1').then(
        () => {
          last = { client, at: Date.now() };
          return true;
        },
        (err: unknown) => {
          conn.drop(client, err);
          return false;
        },
      );
      ping = { client, answer };
      void answer.finally(() => {
        if (ping?.answer === answer) ping = undefined;
      });
    }
    return ping.answer;
  };
  const timer = setInterval(() => {
    const client = conn.current();
    if (client && holding()) void alive(client);
  }, everyMs).unref();
  return {
    alive,
    /** Any answer on the connection counts as a sign of life. */
    seen(client: pg.Client) {
      last = { client, at: Date.now() };
    },
    stop: () => clearInterval(timer),
  };
}

interface LeaseConnection {
  /** The live connection, connecting when there is none (not before the backoff has passed); undefined when unreachable. */
  get(): Promise<pg.Client | undefined>;
  current(): pg.Client | undefined;
  /** The connection failed: forget it (and the regions it held). */
  drop(client: pg.Client, reason: unknown): void;
  closed(): boolean;
  end(): Promise<void>;
}

/** One connection, reconnected on demand with capped backoff; loss and recovery are logged once each. */
function createLeaseConnection(options: PgRegionLeasesOptions, log: Logger, onLost: () => string[]): LeaseConnection {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const minMs = options.reconnectMinMs ?? 500;
  const maxMs = options.reconnectMaxMs ?? 10_000;
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client | undefined> | undefined;
  let failures = 0;
  let retryAt = 0;
  let degraded = false;
  let closed = false;

  function drop(c: pg.Client, reason: unknown): void {
    if (c !== client) return;
    client = undefined;
    const lost = onLost();
    if (!closed && !degraded) {
      const err = reason instanceof Error ? reason.message : reason;
      log.warn({ err, lost }, 'lease connection lost; holding no region until it is back');
    }
    degraded = true;
    discard(c);
  }

  async function connect(): Promise<pg.Client | undefined> {
    let c: pg.Client | undefined;
    try {
      // Inside the try: a malformed connection string throws here, and holds() never throws.
      c = newClient(options, timeoutMs, drop);
      await c.connect();
      await c.query(SERVER_KEEPALIVES);
    } catch (err) {
      if (c) discard(c);
      failures++;
      retryAt = Date.now() + Math.min(maxMs, minMs * 2 ** (failures - 1));
      if (!degraded) log.warn({ err: (err as Error).message }, 'cannot reach PostgreSQL for region leases; will retry');
      degraded = true;
      return undefined;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return undefined;
    }
    if (degraded) log.info({ failures }, 'lease connection recovered');
    failures = 0;
    degraded = false;
    client = c;
    return c;
  }

  return {
    async get() {
      if (client || closed) return client;
      if (!connecting && Date.now() >= retryAt) connecting = connect().finally(() => (connecting = undefined));
      return connecting;
    },
    current: () => client,
    drop,
    closed: () => closed,
    async end() {
      closed = true;
      await connecting;
      const c = client;
      client = undefined;
      if (!c) return;
      // Unlock first, so another replica may take the regions as soon as this returns.
      await c.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

function newClient(options: PgRegionLeasesOptions, timeoutMs: number, drop: (c: pg.Client, reason: unknown) => void): pg.Client {
  const c = new pg.Client({
    connectionString: options.connectionString,
    application_name: options.applicationName ?? `prism-ami ${options.scope} leases`,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // PostgreSQL restarted, the backend was terminated, the network went: 'error' then 'end'.
  c.on('error', (err) => drop(c, err));
  c.on('end', () => drop(c, 'connection ended'));
  return c;
}

/**
 * Ends a connection that may not answer any more (a timed-out query on a silent network): a polite
 * end() waits for the server, so the socket is destroyed if it has not closed within a second.
 */
function discard(c: pg.Client): void {
  c.end().catch(() => undefined);
  const stream = (c as unknown as { connection?: { stream?: { destroyed?: boolean; destroy(): void } } }).connection?.stream;
  if (stream)
    setTimeout(() => {
      if (!stream.destroyed) stream.destroy();
    }, 1000).unref();
}

/**
 * Runs `fn` while holding the advisory lock `key` (hashed to 64 bits by PostgreSQL) on a connection
 * of its own: concurrent callers, in this process or another, run one after the other.
 */
export async function withAdvisoryLock<T>(
  connectionString: string,
  key: string,
  fn: (client: pg.Client) => Promise<T>,
  options: { applicationName?: string } = {},
): Promise<T> {
  const client = new pg.Client({
    connectionString,
    application_name: options.applicationName ?? 'prism-ami lock',
    keepAlive: true,
    // An unreachable server is an error in seconds, not a hang (start-up reports it).
    connectionTimeoutMillis: 5_000,
  });
  // A lost connection shows as the failing query; the lock is gone with it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    try {
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
