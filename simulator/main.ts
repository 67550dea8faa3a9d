/**
 * Standalone simulator: `npm run simulator -- --port 4599 [--host H] [--speed GIB_PER_SECOND]
 * [--throttle-rate 0..1] [--fail-rate 0..1] [--block-public-access] [--token-bucket]
 * [--max-concurrent-copies N] [--state FILE] [--account-id ID] [--verbose]`. Then e.g. `aws --endpoint-url http://127.0.0.1:4599 ec2 describe-images --owners self`.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startSimulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4599' },
    host: { type: 'string', default: '127.0.0.1' },
    speed: { type: 'string' },
    'throttle-rate': { type: 'string' },
    'fail-rate': { type: 'string' },
    'block-public-access': { type: 'boolean', default: false },
    'token-bucket': { type: 'boolean', default: false },
    'max-concurrent-copies': { type: 'string' },
    state: { type: 'string' },
    'account-id': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) {
    process.stderr.write(`--${flag} must be a number, got '${raw}'\n`);
    process.exit(2);
  }
  return n;
}

const logger = pino({ level: values.verbose ? 'debug' : 'info' }, pino.destination(2));

try {
  const sim = await startSimulator({
    host: values.host,
    port: number('port', values.port),
    speedGiBPerSecond: number('speed', values.speed),
    throttleRate: number('throttle-rate', values['throttle-rate']),
    failRate: number('fail-rate', values['fail-rate']),
    blockPublicAccess: values['block-public-access'],
    tokenBucket: values['token-bucket'],
    maxConcurrentCopies: number('max-concurrent-copies', values['max-concurrent-copies']),
    statePath: values.state,
    accountId: values['account-id'],
    logger,
  });
  process.stdout.write(`EC2 simulator listening on ${sim.url}\n`);

  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping EC2 simulator');
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'simulator did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  process.stderr.write(`EC2 simulator failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}
