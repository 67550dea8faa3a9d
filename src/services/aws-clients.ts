// Responsible for the AWS SDK clients of a gateway (ec2/gateway.ts, ssm/gateway.ts): one per
// region, made on first use, from an SDK module loaded on first use (each SDK is large, and start-up
// and idle memory stay small without it). The gateways own which SDK; this module imports none.

/** Where and how a gateway's clients connect (the parts both gateways take from their options). */
export interface ClientOptions {
  /** Explicit endpoint (simulator, moto); otherwise the SDK's own resolution. */
  endpoint?: string | undefined;
  /** Static credentials (simulator, tests); otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** SDK standard-mode attempts; default 5. */
  maxAttempts?: number;
}

/** What an SDK client constructor is given. */
export interface ClientConfig extends Omit<ClientOptions, 'maxAttempts'> {
  region: string;
  retryMode: 'standard';
  maxAttempts: number;
}

export interface RegionClients<M, C> {
  get(region: string): Promise<{ sdk: M; client: C }>;
  destroy(): void;
}

export function regionClients<M, C extends { destroy(): void }>(
  load: () => Promise<M>,
  make: (sdk: M, config: ClientConfig) => C,
  options: ClientOptions,
): RegionClients<M, C> {
  let sdkPromise: Promise<M> | undefined;
  const clients = new Map<string, C>();
  return {
    async get(region) {
      const sdk = await (sdkPromise ??= load());
      let client = clients.get(region);
      if (!client) {
        client = make(sdk, {
          region,
          retryMode: 'standard',
          // Five attempts make a request fail only if it is throttled 5 times in a row (0.2% at a 30%
          // throttling rate); the tracker adds its own per-region backoff on top.
          maxAttempts: options.maxAttempts ?? 5,
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          ...(options.credentials ? { credentials: options.credentials } : {}),
        });
        clients.set(region, client);
      }
      return { sdk, client };
    },
    destroy() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}
