// Builds the dashboard into web/dist with Vite. `--if-stale` builds only when web/dist is missing
// or older than a source file (what `npm start` runs first: ~1 s on a fresh clone, nothing after).
// Never fails a start: without Vite (a production install) the server says how to build instead.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('.', import.meta.url));
const BUILT = join(WEB, 'dist', 'index.html');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function dashboardIsStale(): boolean {
  if (!existsSync(BUILT)) return true;
  const sources = Math.max(
    newestSource(join(WEB, 'src')),
    statSync(join(WEB, 'index.html')).mtimeMs,
    statSync(join(WEB, 'vite.config.ts')).mtimeMs,
  );
  return sources > statSync(BUILT).mtimeMs;
}

export async function buildDashboard(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
}

async function main(): Promise<void> {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !dashboardIsStale()) return;
  const started = Date.now();
  try {
    await buildDashboard();
  } catch (err) {
    if (!ifStale) throw err;
    console.warn(
      `prism-ami: the dashboard was not built (${(err as Error).message.split('\n')[0]}); / will say how to build it.`,
    );
    return;
  }
  console.log(`prism-ami: dashboard built into web/dist in ${Date.now() - started} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
