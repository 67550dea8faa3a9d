// Responsible for following one creation over the amiProgress subscription and showing it: a live
// bar (cli-progress, redrawn in place) on a terminal, one plain line per change when piped, or one
// JSON line per change with --json. Ctrl-C stops following; the creation goes on on the server.
import cliProgress from 'cli-progress';
import type { AmiCreationStatus, CreationFieldsFragment } from '../generated/graphql/graphql.js';
import { AmiProgressDocument } from '../generated/graphql/graphql.js';
import type { PrismClient } from './client.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { copyState, formatDuration, formatUsd, regionLine } from './format.js';
import type { Output } from './output.js';

type Creation = CreationFieldsFragment;

export interface ProgressView {
  update(creation: Creation): void;
  stop(): void;
}

/** The longest stage name (APPLYING_SETTINGS), so that plain progress lines stay aligned. */
const STAGE_WIDTH = 17;
const TERMINAL: readonly AmiCreationStatus[] = ['COMPLETED', 'PARTIALLY_COMPLETED', 'FAILED', 'CANCELLED'];
export const isTerminal = (status: AmiCreationStatus) => TERMINAL.includes(status);

/**
 * COMPLETED exits 0. PARTIALLY_COMPLETED exits 4: the source AMI is usable, but a copy the user asked
 * for is missing, and a script that goes on to launch in that region should not assume success.
 * FAILED and CANCELLED exit 1.
 */
export function exitCodeForStatus(status: AmiCreationStatus): ExitCode {
  switch (status) {
    case 'COMPLETED':
      return EXIT.OK;
    case 'PARTIALLY_COMPLETED':
      return EXIT.PARTIAL;
    default:
      return EXIT.ERROR;
  }
}

/** The part of a state a person sees change; the clock fields tick on their own. */
function changeKey(c: Creation): string {
  return JSON.stringify([c.status, c.stage, c.progress, c.message, c.amiId, c.regions]);
}

function timing(elapsed: number, remaining: number | null): string {
  return remaining === null
    ? `${formatDuration(elapsed)} elapsed`
    : `${formatDuration(elapsed)} elapsed, ~${formatDuration(remaining)} remaining`;
}

/** `[ 42%] SNAPSHOTTING  Creating snapshot - 42% complete  (12s elapsed, ~20s remaining)  copies: …` */
export function plainProgressLine(c: Creation): string {
  const copies = c.regions.length ? `  copies: ${c.regions.map((r) => `${r.region} ${copyState(r)}`).join(', ')}` : '';
  return `[${String(c.progress).padStart(3)}%] ${c.stage.padEnd(STAGE_WIDTH)} ${c.message}  (${timing(c.elapsedSeconds, c.estimatedSecondsRemaining)})${copies}`;
}

export function plainView(out: Output): ProgressView {
  let lastKey = '';
  return {
    update(c) {
      const key = changeKey(c);
      if (key === lastKey) return;
      lastKey = key;
      out.line(plainProgressLine(c));
    },
    stop() {},
  };
}

export function jsonView(out: Output): ProgressView {
  return { update: (c) => out.json({ amiProgress: c }), stop() {} };
}

interface BarPayload {
  kind: 'main' | 'copy';
  creation: Creation;
  receivedAt: number;
  region?: string;
}

/** In-place bars: the creation, then one per regional copy; elapsed and remaining tick between events. */
export function ttyView(stream: NodeJS.WriteStream): ProgressView {
  const format: cliProgress.GenericFormatter = (options, params, payload: BarPayload) => {
    const bar = cliProgress.Format.BarFormat(params.progress, options);
    const c = payload.creation;
    if (payload.kind === 'copy') {
      const r = c.regions.find((x) => x.region === payload.region);
      return `  ${bar} ${r ? regionLine(r) : payload.region}`;
    }
    const since = isTerminal(c.status) ? 0 : (Date.now() - payload.receivedAt) / 1000;
    const remaining = c.estimatedSecondsRemaining === null ? null : Math.max(0, c.estimatedSecondsRemaining - since);
    return `${bar} ${String(c.progress).padStart(3)}% | ${c.stage} | ${c.message} | ${timing(c.elapsedSeconds + since, remaining)}`;
  };
  const multi = new cliProgress.MultiBar(
    { stream, format, hideCursor: true, clearOnComplete: false, gracefulExit: false, barsize: 24, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  let main: cliProgress.SingleBar | undefined;
  const copies = new Map<string, cliProgress.SingleBar>();
  return {
    update(c) {
      const receivedAt = Date.now();
      if (!main) main = multi.create(100, c.progress, { kind: 'main', creation: c, receivedAt } satisfies BarPayload);
      else main.update(c.progress, { creation: c, receivedAt });
      for (const r of c.regions) {
        const payload = { kind: 'copy', creation: c, receivedAt, region: r.region } satisfies BarPayload;
        const bar = copies.get(r.region);
        if (bar) bar.update(r.progress, payload);
        else copies.set(r.region, multi.create(100, r.progress, payload));
      }
    },
    stop() {
      multi.stop();
    },
  };
}

export type FollowOutcome = { kind: 'ended'; creation: Creation } | { kind: 'interrupted'; last: Creation | undefined };

/** Follow a creation until it reaches a terminal status or the user presses Ctrl-C. */
export async function follow(client: PrismClient, id: string, view: ProgressView): Promise<FollowOutcome> {
  const iterator = client.subscribe(AmiProgressDocument, { id });
  let onSigint: (() => void) | undefined;
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onSigint = () => resolve('interrupted');
    process.once('SIGINT', onSigint);
  });
  let last: Creation | undefined;
  try {
    for (;;) {
      // The subscription's pending next() cannot be cancelled, so Ctrl-C wins a race instead; the
      // caller then disposes the client, which closes the socket under it.
      const step = await Promise.race([iterator.next(), interrupted]);
      if (step === 'interrupted') return { kind: 'interrupted', last };
      if (step.done) break;
      last = step.value.amiProgress;
      view.update(last);
    }
  } finally {
    if (onSigint) process.off('SIGINT', onSigint);
    view.stop();
  }
  if (!last) throw new CliError(`creation ${id} not found`, { code: 'CREATION_NOT_FOUND' });
  if (!isTerminal(last.status)) {
    throw new CliError(
      `the server ended the progress stream of ${id} before it finished (last: ${last.status}, ${last.progress}%)`,
    );
  }
  return { kind: 'ended', creation: last };
}

/** The closing lines after a followed creation ended, and the exit code that goes with its status. */
export function reportOutcome(out: Output, c: Creation): ExitCode {
  const took = formatDuration(c.elapsedSeconds);
  const copies = c.regions.map((r) => `  ${regionLine(r)}`);
  switch (c.status) {
    case 'COMPLETED':
      out.line(`COMPLETED: ${c.amiId ?? '?'} (${c.name}) in ${took}`);
      copies.forEach((l) => out.line(l));
      out.line(`Storage cost: ${formatUsd(c.cost.storageMonthlyUsd)}/month; creation cost: ${formatUsd(c.cost.creationUsd)}`);
      break;
    case 'PARTIALLY_COMPLETED':
      out.line(`PARTIALLY_COMPLETED: ${c.amiId ?? '?'} (${c.name}) is available in ${c.sourceRegion}, in ${took}`);
      copies.forEach((l) => out.line(l));
      out.warn(
        `warning: some regional copies failed${c.failureReason ? `: ${c.failureReason}` : ''} (exit code ${EXIT.PARTIAL})`,
      );
      break;
    default:
      out.error(`error: creation ${c.id} ${c.status}${c.failureReason ? `: ${c.failureReason}` : ''}`);
  }
  return exitCodeForStatus(c.status);
}
