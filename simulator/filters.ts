/**
 * Responsible for EC2's `Filter.N` semantics and `MaxResults`/`NextToken` pagination, shared by every
 * Describe action: values of one filter are OR-ed, filters are AND-ed, `*` and `?` are wildcards
 * (`\` escapes them), names are case-sensitive, and an unknown filter name is an error.
 */
import type { Filter } from '@aws-sdk/client-ec2';
import { errors } from './errors.js';
import type { Tag } from './state.js';

/** For each supported filter name, the values an item has for it (a scalar attribute → one value). */
export type FilterTable<T> = Record<string, (item: T) => ReadonlyArray<string | number | boolean | undefined>>;

function wildcard(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) re += escape(pattern.charAt(++i));
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += escape(c);
  }
  return new RegExp(`^${re}$`, 's');
}
const escape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function applyFilters<T>(
  items: readonly T[],
  filters: readonly Filter[] | undefined,
  table: FilterTable<T>,
  tagsOf: (item: T) => readonly Tag[],
): T[] {
  if (!filters || filters.length === 0) return [...items];
  const predicates = filters.map((f) => {
    const name = f.Name ?? '';
    const patterns = (f.Values ?? []).map(wildcard);
    let valuesOf: (item: T) => ReadonlyArray<string | number | boolean | undefined>;
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      valuesOf = (item) =>
        tagsOf(item)
          .filter((t) => t.Key === key)
          .map((t) => t.Value);
    } else if (name === 'tag-key') {
      valuesOf = (item) => tagsOf(item).map((t) => t.Key);
    } else if (name === 'tag-value') {
      valuesOf = (item) => tagsOf(item).map((t) => t.Value);
    } else {
      const fromTable = table[name];
      if (!fromTable) throw errors.invalidFilter(name);
      valuesOf = fromTable;
    }
    return (item: T): boolean => valuesOf(item).some((v) => v !== undefined && patterns.some((p) => p.test(String(v))));
  });
  return items.filter((item) => predicates.every((p) => p(item)));
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * Pages are cut from the list sorted by id and the token names the last id returned, so resources
 * created or deleted between two calls neither repeat nor shift a page (an offset would).
 */
export function paginate<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  request: { MaxResults?: number; NextToken?: string },
  bounds: { min: number; max: number },
): Page<T> {
  const sorted = [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  let start = 0;
  if (request.NextToken) {
    const after = decodeToken(request.NextToken);
    start = sorted.findIndex((item) => idOf(item) > after);
    if (start < 0) start = sorted.length;
  }
  if (request.MaxResults === undefined) return { items: sorted.slice(start) };
  const max = request.MaxResults;
  if (max < bounds.min || max > bounds.max) {
    throw errors.invalidParameterValue(
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between ${bounds.min} and ${bounds.max}.`,
    );
  }
  const page = sorted.slice(start, start + max);
  const last = page[page.length - 1];
  const more = start + max < sorted.length;
  return more && last !== undefined ? { items: page, nextToken: encodeToken(idOf(last)) } : { items: page };
}

const encodeToken = (id: string): string => Buffer.from(JSON.stringify({ after: id })).toString('base64url');

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through to the EC2 error below
  }
  throw errors.invalidPaginationToken(token);
}
