// Where the CLI writes: results on stdout, errors and warnings on stderr, so `--json | jq` and
// `2>/dev/null` both do what a script expects.

export interface Output {
  /** stdout is a terminal: live bars may redraw in place */
  readonly isTTY: boolean;
  readonly stdout: NodeJS.WriteStream;
  line(text: string): void;
  /** One JSON document on stdout: indented for a single result, one line per value in a stream. */
  json(value: unknown, options?: { pretty?: boolean }): void;
  warn(text: string): void;
  error(text: string): void;
}

export function processOutput(stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output {
  return {
    isTTY: stdout.isTTY === true,
    stdout,
    line: (text) => void stdout.write(`${text}\n`),
    json: (value, options) => void stdout.write(`${JSON.stringify(value, null, options?.pretty ? 2 : undefined)}\n`),
    warn: (text) => void stderr.write(`${text}\n`),
    error: (text) => void stderr.write(`${text}\n`),
  };
}
