// Process entry: configuration from the environment, then the app; stops cleanly on signals.
import { existsSync } from 'node:fs';
import { homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

// Unless told otherwise, graphql-js runs in development mode, where each of its type checks
// (`isNonNullType`, `isListType`, … several per field of a result) also compares class names as a
// guard against two copies of graphql: ~35% of executing a page of 50 AMIs (bench/README.md §12).
// It reads NODE_ENV once, when loaded, so this is set before the app is imported; a NODE_ENV given
// (development, test) is kept. Nothing else here or in the dependencies reads it for 'production'.
process.env.NODE_ENV ??= 'production';

async function main(): Promise<void> {
  let config;
  try {
    const home = homedir();
    config = loadConfig(process.env, {
      hasSharedCredentialsFile: existsSync(join(home, '.aws', 'credentials')) || existsSync(join(home, '.aws', 'config')),
      totalMemoryBytes: totalmem(),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`prism-ami: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const { buildApp } = await import('./app.js');
  const app = await buildApp(config, logger);
  await app.start();
  const signIn = app.signInUrl();
  // Printed once to the terminal, as Jupyter does, and kept out of the JSON log.
  if (signIn) process.stderr.write(`\n    Open the dashboard (signed in as "local"):\n    ${signIn}\n\n`);

  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) process.exit(1); // a second Ctrl-C does not wait
    signalled = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** A start-up failure that names its variable (DATABASE_URL: cannot use PostgreSQL …) is one sentence for the operator. */
const NAMES_ITS_VARIABLE = /^[A-Z][A-Z0-9_]*_[A-Z0-9_]+\b/;

main().catch((err: unknown) => {
  if (err instanceof Error && NAMES_ITS_VARIABLE.test(err.message)) console.error(`prism-ami: ${err.message}`);
  else console.error('prism-ami failed to start:', err);
  process.exit(1);
});
