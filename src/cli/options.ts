// Argument parsers shared by the commands (commander calls them once per occurrence).
import { InvalidArgumentError } from 'commander';
import type { InstanceState, RegionKmsKeyInput, TagInput } from '../generated/graphql/graphql.js';

/** `--tag k=v`, repeatable; the value may be empty and may itself contain `=`. */
export function collectTag(raw: string, previous: TagInput[] = []): TagInput[] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${raw}"`);
  return [...previous, { key: raw.slice(0, eq), value: raw.slice(eq + 1) }];
}

/** A repeatable option: `--region a --region b` → ['a', 'b']. */
export function collect(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

const INSTANCE_STATES: readonly InstanceState[] = ['PENDING', 'RUNNING', 'STOPPING', 'STOPPED', 'SHUTTING_DOWN'];

/** `--state running` (EC2's spelling, `shutting-down` too) or the GraphQL enum value, any case. */
export function parseInstanceState(raw: string): InstanceState {
  const state = raw.trim().toUpperCase().replace(/-/g, '_') as InstanceState;
  if (!INSTANCE_STATES.includes(state)) {
    throw new InvalidArgumentError(`expected one of ${INSTANCE_STATES.map((s) => s.toLowerCase().replace('_', '-')).join(', ')}`);
  }
  return state;
}

/** `--keep-latest 3`: a whole number; the server checks the range (1..100) and says so. */
export function parseCount(raw: string): number {
  const n = Number(raw.trim());
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected a whole number, got "${raw}"`);
  return n;
}

/** `--region-kms-key us-west-2=alias/builds`, repeatable; split at the first `=` (key ARNs hold `:`, never `=`). */
export function collectRegionKmsKey(raw: string, previous: RegionKmsKeyInput[] = []): RegionKmsKeyInput[] {
  const eq = raw.indexOf('=');
  const region = raw.slice(0, eq).trim();
  const kmsKeyId = raw.slice(eq + 1).trim();
  if (eq <= 0 || !region || !kmsKeyId)
    throw new InvalidArgumentError(`expected REGION=KEY, e.g. us-west-2=alias/builds, got "${raw}"`);
  return [...previous, { region, kmsKeyId }];
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `--deprecate-at 2027-06-30T12:00Z` → the ISO string the server's DateTime takes. A time without a zone is UTC, not
 * the machine's local time, so that the same command means the same instant on a laptop and in CI.
 */
export function parseDateTime(raw: string): string {
  const text = raw.trim().replace(' ', 'T');
  const match = DATE_TIME.exec(text);
  const invalid = new InvalidArgumentError(`expected an ISO-8601 date-time such as 2027-06-30T12:00:00Z, got "${raw}"`);
  if (!match) throw invalid;
  const [year = 0, month = 0, day = 0] = match.slice(1, 4).map(Number);
  // `Date` rolls 2027-02-30 over into March instead of refusing it.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) throw invalid;
  const date = new Date(text.includes('T') && !match[4] ? `${text}Z` : text);
  if (Number.isNaN(date.getTime())) throw invalid;
  return date.toISOString();
}

const DURATION_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `--deprecate-in 90d` → milliseconds; units m (minutes), h, d, w, and a whole number above zero. */
export function parseDuration(raw: string): number {
  const match = /^\s*(\d+)\s*([mhdw])\s*$/i.exec(raw);
  const amount = match ? Number(match[1]) : 0;
  const unit = match?.[2]?.toLowerCase() as keyof typeof DURATION_UNITS | undefined;
  if (!unit || amount <= 0 || !Number.isSafeInteger(amount * DURATION_UNITS[unit])) {
    throw new InvalidArgumentError(`expected a whole number above 0 with a unit m, h, d or w (e.g. 90d, 12w), got "${raw}"`);
  }
  return amount * DURATION_UNITS[unit];
}
