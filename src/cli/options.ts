// Argument parsers shared by the commands (commander calls them once per occurrence).
import { InvalidArgumentError } from 'commander';
import type { TagInput } from '../generated/graphql/graphql.js';

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
