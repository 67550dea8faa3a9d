// `prism-ami serve`: the server itself, exactly as `npm start` runs it (configured by the same
// environment variables; see README "Configuration").
import type { Command } from 'commander';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Start the prism-ami server (same as npm start; configured by environment variables)')
    .action(async () => {
      // src/main.ts starts the server on import and owns the process from then on (signals, exit).
      await import('../../main.js');
    });
}
