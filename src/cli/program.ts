// The command tree. One module per command group registers its commands; a new group (e.g. `token`)
// is one more register call here.
import { Command, Option } from 'commander';
import { registerAmiCommands } from './commands/amis.js';
import { registerCreationCommands } from './commands/creations.js';
import { registerInstanceCommands } from './commands/instances.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommands } from './token.js';
import { DEFAULT_URL, type Runner } from './context.js';

export function buildProgram(run: Runner, version: string, env: Record<string, string | undefined> = {}): Command {
  const program = new Command('prism-ami')
    .description('Capture EC2 instances as AMIs and follow, copy, share and publish them (a prism-ami GraphQL client)')
    .version(version)
    .addOption(new Option('--url <url>', 'GraphQL endpoint of the prism-ami server').env('PRISM_AMI_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'API token, sent as Authorization: Bearer <token>').env('PRISM_AMI_TOKEN'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  registerServeCommand(program);
  registerCreationCommands(program, run);
  registerAmiCommands(program, run);
  registerInstanceCommands(program, run);
  registerTokenCommands(program, env);

  // Subcommands throw instead of exiting too, so main decides the exit code in one place.
  for (const command of program.commands) command.exitOverride();
  return program;
}
