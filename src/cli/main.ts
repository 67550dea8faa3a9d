// Entry of the `prism-ami` command (bin/prism-ami.mjs, `npm run cli -- …`): parse, run one command,
// turn every failure into `error CODE: message` on stderr and a non-zero exit code.
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { createRunner, localTokenFallback } from './context.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { processOutput, type Output } from './output.js';
import { buildProgram } from './program.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export async function runCli(
  argv: readonly string[],
  out: Output = processOutput(),
  env: Record<string, string | undefined> = process.env,
): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const program = buildProgram(
    createRunner(
      out,
      (code) => {
        exitCode = code;
      },
      localTokenFallback(env),
    ),
    packageVersion(),
    env,
  );
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // commander printed it
    if (err instanceof CliError) {
      out.error(err.format());
      return err.exitCode;
    }
    out.error(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.ERROR;
  }
}

process.exitCode = await runCli(process.argv);
