// Lists the longest functions (lines from the first to the last line of the body, blank lines and
// comments included, nested functions counted in their parent) in the hand-written code: src/,
// simulator/, web/src/, bench/ and scripts/ (not tests, not generated files).
//   npx tsx scripts/function-lengths.ts [--over N] [--top N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('..', import.meta.url).pathname;
const DIRS = ['src', 'simulator', 'web/src', 'bench', 'scripts'];
const SKIP = /(^|\/)(generated|node_modules|dist)(\/|$)/;

function files(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (SKIP.test(relative(ROOT, path))) return [];
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Fn {
  file: string;
  line: number;
  name: string;
  lines: number;
}

function measure(path: string): Fn[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Fn[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      out.push({ file: relative(ROOT, path), line: start + 1, name: nameOf(node), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function nameOf(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

const args = process.argv.slice(2);
const over = Number(args[args.indexOf('--over') + 1] ?? 80) || 80;
const top = Number(args[args.indexOf('--top') + 1] ?? 10) || 10;
const all = DIRS.flatMap((d) => files(join(ROOT, d)))
  .flatMap(measure)
  .sort((a, b) => b.lines - a.lines);
const long = all.filter((f) => f.lines > over);
for (const f of all.slice(0, Math.max(top, long.length)))
  console.log(`${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
console.log(`\n${all.length} functions; ${long.length} over ${over} lines; longest ${all[0]?.lines ?? 0}`);
