/**
 * Responsible for decoding EC2 Query requests (`Filter.1.Name=…&Filter.1.Value.1=…&ImageId.1=…`) into
 * the same nested objects the SDK's input types describe (`{ Filters: [{ Name, Values }], ImageIds }`).
 *
 * It walks the action's input shape from the botocore model and applies the EC2 protocol's naming
 * rule (queryName, else the capitalised locationName, else the member name; lists are always
 * flattened as `Name.N`), so every parameter either client can send is understood without a
 * hand-written table per action. Required members missing → `MissingParameter`, as EC2 does.
 */
import { errors } from './errors.js';
import { shape, type MemberRef } from './model/index.js';

type Decoded = string | number | boolean | Date | Decoded[] | { [k: string]: Decoded };

export function wireName(memberName: string, m: MemberRef): string {
  if (m.queryName) return m.queryName;
  if (m.locationName) return m.locationName.charAt(0).toUpperCase() + m.locationName.slice(1);
  return memberName;
}

export function decodeInput(params: ReadonlyMap<string, string>, shapeName: string): Record<string, unknown> {
  // children.get('Filter') = {'1','2'}, children.get('Filter.1') = {'Name','Value'}: what exists below a prefix.
  const children = new Map<string, Set<string>>();
  for (const key of params.keys()) {
    const parts = key.split('.');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('.');
      let set = children.get(parent);
      if (!set) children.set(parent, (set = new Set()));
      set.add(parts[i] ?? '');
    }
  }
  const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);
  const present = (path: string): boolean => params.has(path) || children.has(path);

  const decode = (shapeName: string, path: string): Decoded | undefined => {
    const s = shape(shapeName);
    switch (s.type) {
      case 'structure': {
        const out: Record<string, Decoded> = {};
        for (const [name, m] of Object.entries(s.members ?? {})) {
          const p = join(path, wireName(name, m));
          if (!present(p)) continue;
          const v = decode(m.shape, p);
          if (v !== undefined) out[name] = v;
        }
        for (const req of s.required ?? []) {
          const m = s.members?.[req];
          if (m && out[req] === undefined) throw errors.missingParameter(wireName(req, m));
        }
        return out;
      }
      case 'list': {
        const member = s.member;
        if (!member) return [];
        const indexes = [...(children.get(path) ?? [])]
          .filter((seg) => /^\d+$/.test(seg))
          .map(Number)
          .sort((a, b) => a - b);
        const out: Decoded[] = [];
        for (const i of indexes) {
          const v = decode(member.shape, `${path}.${i}`);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      case 'map':
        return undefined; // no implemented action takes a map
      default: {
        const raw = params.get(path);
        if (raw === undefined) return undefined;
        return scalar(s.type, raw, path);
      }
    }
  };

  return decode(shapeName, '') as Record<string, unknown>;
}

function scalar(type: string, raw: string, path: string): Decoded {
  switch (type) {
    case 'integer':
    case 'long': {
      if (!/^-?\d+$/.test(raw.trim())) throw errors.invalidParameterValue(`Invalid value '${raw}' for ${path}`);
      return Number(raw);
    }
    case 'double':
    case 'float': {
      const n = Number(raw);
      if (Number.isNaN(n)) throw errors.invalidParameterValue(`Invalid value '${raw}' for ${path}`);
      return n;
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (v !== 'true' && v !== 'false') throw errors.invalidParameterValue(`Invalid value '${raw}' for ${path}`);
      return v === 'true';
    }
    case 'timestamp': {
      const d = new Date(raw);
      if (Number.isNaN(d.getTime())) throw errors.invalidParameterValue(`Invalid value '${raw}' for ${path}`);
      return d;
    }
    default:
      return raw;
  }
}
