// What every command gets: a typed client for the server named by --url/--token, and the output.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createPrismClient, type PrismClient } from './client.js';
import type { ExitCode } from './errors.js';
import type { Output } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

export interface GlobalOptions {
  url: string;
  token?: string | undefined;
}

export interface CommandContext {
  client: PrismClient;
  out: Output;
}

/** Runs one command's handler with a fresh client, disposes it, and records the exit code. */
export type Runner = (command: Command, handler: (ctx: CommandContext) => Promise<ExitCode | void>) => Promise<void>;

/**
 * The token to use when neither --token nor PRISM_AMI_TOKEN gives one: for a server on this
 * machine, the local user's token that the server wrote next to its database on first start.
 */
export function localTokenFallback(env: Record<string, string | undefined>): (url: string) => string | undefined {
  return (url) => {
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      return undefined;
    }
    if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return undefined;
    try {
      const path = loadConfig(env).localTokenPath;
      return path && existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
    } catch {
      return undefined;
    }
  };
}

export function createRunner(
  out: Output,
  onExitCode: (code: ExitCode) => void,
  fallbackToken: (url: string) => string | undefined = () => undefined,
): Runner {
  return async (command, handler) => {
    const { url, token } = command.optsWithGlobals<GlobalOptions>();
    const client = createPrismClient({ url, token: token ?? fallbackToken(url) });
    try {
      onExitCode((await handler({ client, out })) ?? 0);
    } finally {
      await client.dispose();
    }
  };
}
