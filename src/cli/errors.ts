// Exit codes and the one error type every CLI command throws for an expected failure.

/** Documented in the README (Command line: exit codes); scripts rely on them. */
export const EXIT = {
  OK: 0,
  /** The server refused or failed the request, or a watched creation ended FAILED or CANCELLED */
  ERROR: 1,
  /** Bad command line (commander's own message) */
  USAGE: 2,
  /** No server answered at --url */
  UNREACHABLE: 3,
  /** A watched creation ended PARTIALLY_COMPLETED: the source AMI is usable, some copies failed */
  PARTIAL: 4,
  /** Ctrl-C while watching; the creation itself goes on */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  /** The server's ErrorCode (INSTANCE_NOT_FOUND, …) or a GraphQL error code, when there is one */
  readonly code: string | undefined;
  /** Extra lines: one per invalid field (`input.name: …`), or further GraphQL errors */
  readonly details: readonly string[];
  readonly exitCode: ExitCode;

  constructor(message: string, options: { code?: string | undefined; details?: readonly string[]; exitCode?: ExitCode } = {}) {
    super(message);
    this.name = 'CliError';
    this.code = options.code;
    this.details = options.details ?? [];
    this.exitCode = options.exitCode ?? EXIT.ERROR;
  }

  /** `error INSTANCE_NOT_FOUND: No instance …`, then one indented line per detail. */
  format(): string {
    const head = this.code ? `error ${this.code}: ${this.message}` : `error: ${this.message}`;
    return [head, ...this.details.map((d) => `  ${d}`)].join('\n');
  }
}
