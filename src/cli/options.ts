// Argument parsers shared by the commands (commander calls them once per occurrence).
import { InvalidArgumentError } from 'commander';
import type { InstanceState, TagInput } from '../generated/graphql/graphql.js';

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
