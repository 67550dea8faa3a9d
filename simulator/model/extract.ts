/**
 * Regenerates `ec2-shapes.json` from the EC2 API model that botocore ships.
 *
 * Why a committed extract instead of reading botocore at runtime: the simulator must run where Python
 * is absent, and the extract keeps only what the query decoder and the XML serializer need (shapes,
 * wire names, required members, enums), about 80 KB instead of the 5 MB model.
 *
 *   npx tsx simulator/model/extract.ts [path/to/service-2.json(.gz)]
 *
 * Without an argument the model is located through `python3 -c 'import botocore'`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ACTIONS } from './actions.js';

interface RawMember {
  shape: string;
  locationName?: string;
  queryName?: string;
}
interface RawShape {
  type: string;
  members?: Record<string, RawMember>;
  member?: RawMember;
  key?: RawMember;
  value?: RawMember;
  required?: string[];
  enum?: string[];
}
interface RawModel {
  metadata: { apiVersion: string; xmlNamespace: string };
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, RawShape>;
}

function locateModel(): string {
  const dir = execFileSync('python3', ['-c', 'import botocore,os;print(os.path.dirname(botocore.__file__))'], {
    encoding: 'utf8',
  }).trim();
  return join(dir, 'data', 'ec2', '2016-11-15', 'service-2.json.gz');
}

function pickMember(m: RawMember): RawMember {
  return {
    shape: m.shape,
    ...(m.locationName !== undefined && { locationName: m.locationName }),
    ...(m.queryName !== undefined && { queryName: m.queryName }),
  };
}

function main(): void {
  const path = process.argv[2] ?? locateModel();
  const bytes = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  const raw = JSON.parse(text) as RawModel;

  const shapes: Record<string, RawShape> = {};
  const visit = (name: string): void => {
    if (shapes[name]) return;
    const s = raw.shapes[name];
    if (!s) throw new Error(`shape ${name} missing from the model`);
    const out: RawShape = { type: s.type };
    shapes[name] = out;
    if (s.required) out.required = s.required;
    if (s.enum) out.enum = s.enum;
    if (s.members) {
      out.members = {};
      for (const [k, m] of Object.entries(s.members)) {
        out.members[k] = pickMember(m);
        visit(m.shape);
      }
    }
    for (const part of ['member', 'key', 'value'] as const) {
      const m = s[part];
      if (m) {
        out[part] = pickMember(m);
        visit(m.shape);
      }
    }
  };

  const operations: Record<string, { input?: string; output?: string }> = {};
  for (const action of ACTIONS) {
    const op = raw.operations[action];
    if (!op) throw new Error(`operation ${action} missing from the model`);
    operations[action] = {
      ...(op.input && { input: op.input.shape }),
      ...(op.output && { output: op.output.shape }),
    };
    if (op.input) visit(op.input.shape);
    if (op.output) visit(op.output.shape);
  }

  const sorted = Object.fromEntries(Object.entries(shapes).sort(([a], [b]) => a.localeCompare(b)));
  const target = fileURLToPath(new URL('./ec2-shapes.json', import.meta.url));
  const doc = {
    source: 'botocore data/ec2/2016-11-15/service-2.json (extracted by model/extract.ts; do not edit)',
    apiVersion: raw.metadata.apiVersion,
    operations,
    shapes: sorted,
  };
  writeFileSync(target, JSON.stringify(doc, null, 1) + '\n');
  process.stdout.write(`wrote ${Object.keys(sorted).length} shapes for ${ACTIONS.length} actions to ${target}\n`);
}

main();
