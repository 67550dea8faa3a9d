// Responsible for reading the environment once, validating it, and handing a typed Config to the
// rest of the app. This is the only module that reads process.env (main.ts passes it in).
import { hostname } from 'node:os';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  DATABASE_PATH: z.string().trim().min(1).default('./data/prism-ami.db'),
  // Scale-out: PostgreSQL for state and Redis for what crosses replicas (DESIGN §9).
  DATABASE_URL: optionalString.pipe(urlWith(['postgres:', 'postgresql:'], 'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE')),
  REDIS_URL: optionalString.pipe(urlWith(['redis:', 'rediss:'], 'redis://[:PASSWORD@]HOST[:PORT][/DB]')),
  REDIS_KEY_PREFIX: z.string().trim().min(1).max(100).default('prism-ami:'),
  INSTANCE_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits and . _ : -')
    .optional(),
  EC2_BACKEND: z.enum(['aws', 'simulator', 'auto']).default('auto'),
  AWS_REGION: z
    .string()
    .trim()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'must be a region name such as us-east-1')
    .default('us-east-1'),
  POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  AWS_ENDPOINT_URL_EC2: optionalString.pipe(z.url().optional()),
  AWS_ENDPOINT_URL_SSM: optionalString.pipe(z.url().optional()),
  AWS_ENDPOINT_URL: optionalString.pipe(z.url().optional()),
  AWS_PROFILE: optionalString,
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_WEB_IDENTITY_TOKEN_FILE: optionalString,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: optionalString,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: optionalString,
  HOME: optionalString,
  // Security and limits.
  CORS_ORIGINS: z.string().trim().default(''),
  GRAPHQL_INTROSPECTION: boolFlag('true'),
  GRAPHIQL: boolFlag('true'),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  MUTATIONS_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(60),
  // Ownership: who may capture which instance.
  INSTANCE_ACCESS: z.enum(['owner', 'any'], { message: 'must be owner or any' }).default('owner'),
  INSTANCE_OWNER_TAG: z
    .string()
    .trim()
    .min(1)
    .max(128)
    .refine((v) => !v.toLowerCase().startsWith('aws:'), 'must not start with aws: (EC2 reserves those tag keys)')
    .default('prism:owner'),
  // Per-user caps, and a server-wide ceiling on live connections (default: sized for this machine's memory).
  MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(20),
  MAX_SUBSCRIPTIONS_PER_USER: z.coerce.number().int().min(1).max(1_000_000).default(200),
  MAX_ACTIVE_CREATIONS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(50),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  LOG_REQUESTS: boolFlag('true'),
  // Operations: Prometheus metrics at /metrics, optionally behind a bearer token.
  METRICS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  // Simulator knobs (used when the backend is the built-in simulator).
  SIMULATOR_SPEED_GIB_PER_SECOND: z.coerce.number().positive().max(1_000_000).optional(),
  SIMULATOR_THROTTLE_RATE: z.coerce.number().min(0).max(1).default(0),
  SIMULATOR_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
  SIMULATOR_BLOCK_PUBLIC_ACCESS: boolFlag('false'),
  SIMULATOR_MAX_CONCURRENT_COPIES: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** A URL of one of `protocols`; the message shows the form expected (never the value's password). */
function urlWith(protocols: string[], form: string) {
  return z
    .string()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL of the form ${form}`)
    .optional();
}

function boolFlag(defaultValue: 'true' | 'false') {
  return z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default(defaultValue)
    .transform((v) => v === 'true' || v === '1');
}

export type Ec2BackendKind = 'aws' | 'simulator';

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** PostgreSQL instead of SQLite at databasePath. */
  databaseUrl: string | undefined;
  /** Events, rate limits and caps shared by replicas; undefined = in this process. */
  redis: { url: string; keyPrefix: string } | undefined;
  /** Names this replica in metrics, logs and leases. */
  instanceId: string;
  /** The backend actually used, after resolving `auto`. */
  ec2Backend: Ec2BackendKind;
  /** Why `ec2Backend` was chosen, for the start-up log. */
  ec2BackendReason: string;
  /** An explicit EC2 endpoint (moto, LocalStack, …); the simulator's own URL is decided at start. */
  ec2Endpoint: string | undefined;
  /** An explicit SSM endpoint (AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL); the simulator serves SSM on its own URL. */
  ssmEndpoint: string | undefined;
  region: string;
  pollIntervalMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  security: {
    /** Origins allowed by CORS; empty = CORS off (same-origin only). */
    corsOrigins: string[];
    introspection: boolean;
    graphiql: boolean;
    maxBodyBytes: number;
    /** Per token; 0 = unlimited. */
    mutationsPerMinute: number;
  };
  access: {
    /** `owner`: a user captures only instances whose owner tag names them (admins: any); `any`: everyone captures everything. */
    instanceAccess: 'owner' | 'any';
    instanceOwnerTag: string;
  };
  limits: {
    /** graphql-ws connections and SSE streams of one user, together. */
    maxConnectionsPerUser: number;
    maxSubscriptionsPerUser: number;
    maxActiveCreationsPerUser: number;
    /** Live connections of all users together. */
    maxConnections: number;
  };
  /** One access-log line per request (and per WebSocket open/close) at info. */
  logRequests: boolean;
  metrics: {
    enabled: boolean;
    /** When set, /metrics answers only `Authorization: Bearer <token>`. */
    token: string | undefined;
  };
  /** Where the local user's token is written on first start (next to the database). */
  localTokenPath: string | undefined;
  simulator: {
    speedGiBPerSecond: number | undefined;
    throttleRate: number;
    failRate: number;
    blockPublicAccess: boolean;
    /** Copies in progress per destination region before CopyImage answers ResourceLimitExceeded; unset: the simulator's default (20). */
    maxConcurrentCopies: number | undefined;
    /** JSON state file next to the database, so a restart keeps the demo's instances and AMIs. */
    statePath: string | undefined;
  };
}

const SECRET_BEARING = new Set(['DATABASE_URL', 'REDIS_URL', 'METRICS_TOKEN']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigProbe {
  /** Whether an AWS shared credentials/config file exists (checked by main.ts, not here). */
  hasSharedCredentialsFile?: boolean;
  /** The machine's memory (main.ts passes os.totalmem()); sizes the default connection ceiling. */
  totalMemoryBytes?: number;
}

/**
 * About 4 MiB of memory per live connection (socket buffers, subscriptions, their buffers), within
 * 500..20,000: 6,144 on a 24 GiB machine, 2,048 on 8 GiB.
 */
export function defaultMaxConnections(totalMemoryBytes: number | undefined): number {
  if (!totalMemoryBytes) return 2000;
  return Math.max(500, Math.min(20_000, Math.floor(totalMemoryBytes / (4 * 1024 * 1024))));
}

/** `EC2_BACKEND=auto`: AWS when an endpoint or credentials are configured, else the simulator. */
function chooseBackend(
  e: z.infer<typeof envSchema>,
  endpoint: string | undefined,
  probe: ConfigProbe,
): { backend: Ec2BackendKind; reason: string } {
  let backend: Ec2BackendKind;
  let reason: string;
  if (e.EC2_BACKEND !== 'auto') {
    backend = e.EC2_BACKEND;
    reason = `EC2_BACKEND=${e.EC2_BACKEND}`;
  } else if (endpoint) {
    backend = 'aws';
    reason = 'an EC2 endpoint is configured (AWS_ENDPOINT_URL_EC2/AWS_ENDPOINT_URL)';
  } else if (
    e.AWS_ACCESS_KEY_ID ||
    e.AWS_PROFILE ||
    e.AWS_WEB_IDENTITY_TOKEN_FILE ||
    e.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    probe.hasSharedCredentialsFile
  ) {
    backend = 'aws';
    reason = 'AWS credentials were found';
  } else {
    backend = 'simulator';
    reason = 'no AWS credentials or EC2 endpoint were found';
  }
  return { backend, reason };
}

/** Parse and validate the environment. Throws ConfigError naming every bad variable at once. */
export function loadConfig(env: Record<string, string | undefined>, probe: ConfigProbe = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      // URLs and tokens may carry passwords: name the variable, never echo its value.
      const value = SECRET_BEARING.has(name) ? '(value not shown)' : JSON.stringify(env[name] ?? '');
      return `${name}=${value}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const endpoint = e.AWS_ENDPOINT_URL_EC2 ?? e.AWS_ENDPOINT_URL;
  const { backend, reason } = chooseBackend(e, endpoint, probe);

  const inMemory = e.DATABASE_PATH === ':memory:';
  // A token file next to a SQLite file is the one-machine quick start; replicas on PostgreSQL use
  // tokens made with `prism-ami token create` instead.
  const localFiles = !inMemory && !e.DATABASE_URL;
  return {
    port: e.PORT,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : undefined,
    instanceId: e.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    ec2Backend: backend,
    ec2BackendReason: reason,
    ec2Endpoint: backend === 'aws' ? endpoint : undefined,
    ssmEndpoint: backend === 'aws' ? (e.AWS_ENDPOINT_URL_SSM ?? e.AWS_ENDPOINT_URL) : undefined,
    region: e.AWS_REGION,
    pollIntervalMs: e.POLL_INTERVAL_MS ?? (backend === 'aws' ? 10_000 : 1_000),
    logLevel: e.LOG_LEVEL,
    security: {
      corsOrigins: e.CORS_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      introspection: e.GRAPHQL_INTROSPECTION,
      graphiql: e.GRAPHIQL,
      maxBodyBytes: e.MAX_BODY_BYTES,
      mutationsPerMinute: e.MUTATIONS_PER_MINUTE,
    },
    access: { instanceAccess: e.INSTANCE_ACCESS, instanceOwnerTag: e.INSTANCE_OWNER_TAG },
    limits: {
      maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
      maxSubscriptionsPerUser: e.MAX_SUBSCRIPTIONS_PER_USER,
      maxActiveCreationsPerUser: e.MAX_ACTIVE_CREATIONS_PER_USER,
      maxConnections: e.MAX_CONNECTIONS ?? defaultMaxConnections(probe.totalMemoryBytes),
    },
    logRequests: e.LOG_REQUESTS,
    metrics: { enabled: e.METRICS === 'on', token: e.METRICS_TOKEN },
    localTokenPath: !localFiles ? undefined : e.DATABASE_PATH.replace(/(\.db|\.sqlite3?)?$/, '.token'),
    simulator: {
      speedGiBPerSecond: e.SIMULATOR_SPEED_GIB_PER_SECOND,
      throttleRate: e.SIMULATOR_THROTTLE_RATE,
      failRate: e.SIMULATOR_FAIL_RATE,
      blockPublicAccess: e.SIMULATOR_BLOCK_PUBLIC_ACCESS,
      maxConcurrentCopies: e.SIMULATOR_MAX_CONCURRENT_COPIES,
      statePath: inMemory ? undefined : e.DATABASE_PATH.replace(/(\.db|\.sqlite3?)?$/, '.simulator.json'),
    },
  };
}
