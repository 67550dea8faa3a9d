// Helpers for the operability tests: a small Prometheus text-format parser, a JSON Schema checker
// for the subset the OpenAPI document uses, and plain HTTP against a listening test app.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** The sum of every sample of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

/** Parses the Prometheus text exposition format (0.0.4); throws on any line it does not understand. */
export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else if (!/^# HELP \S+ /.test(line)) throw new Error(`line ${i + 1}: bad comment: ${line}`);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      let l: RegExpExecArray | null;
      while ((l = LABEL.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`line ${i + 1}: bad labels: ${m[2]}`);
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`line ${i + 1}: bad value: ${raw}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(m[1]!) && !types.has(family)) throw new Error(`line ${i + 1}: sample without a TYPE: ${m[1]}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return {
    samples,
    types,
    value(name, wanted = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(wanted).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    },
  };
}

export async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(new URL('/metrics', baseUrl), { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return parsePrometheus(await res.text());
}

/** Closes the app's SQLite handle (drizzle keeps it as $client), to see how the server copes. */
export function closeDatabase(app: { deps: { db: { close(): Promise<void> } } }): Promise<void> {
  return app.deps.db.close();
}

/** The server's base URL from the GraphQL URL the test app printed. */
export function baseOf(graphqlUrl: string): string {
  return new URL('/', graphqlUrl).href;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  format?: string;
  $ref?: string;
}

/**
 * Checks `value` against the JSON Schema subset the OpenAPI document uses (type, properties,
 * required, additionalProperties, items, enum, minimum, maximum, date-time, local $refs) and
 * returns every problem with its path.
 */
export function schemaProblems(value: unknown, schema: JsonSchema, root: unknown, path = '$'): string[] {
  if (schema.$ref) {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root) as JsonSchema | undefined;
    if (!target) return [`${path}: unresolved $ref ${schema.$ref}`];
    return schemaProblems(value, target, root, path);
  }
  const problems: string[] = [];
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) return [`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)}`];
  }
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (schema.format === 'date-time' && typeof value === 'string' && Number.isNaN(Date.parse(value))) {
    problems.push(`${path}: not a date-time: ${value}`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => problems.push(...schemaProblems(v, schema.items!, root, `${path}[${i}]`)));
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) problems.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      const prop = schema.properties?.[key];
      if (prop) problems.push(...schemaProblems(v, prop, root, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}: undocumented property ${key}`);
      else if (typeof schema.additionalProperties === 'object')
        problems.push(...schemaProblems(v, schema.additionalProperties, root, `${path}.${key}`));
      else if (schema.properties) problems.push(`${path}: undocumented property ${key}`);
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}
