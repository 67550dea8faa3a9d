// Runs every benchmark one after the other (each in its own process, so none disturbs the next)
// and prints their tables. `npm run bench`; one at a time: `npm run bench:<name>`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { load, machine, ROOT } from './support/common.js';

const BENCHES = [
  'tracker-calls',
  'progress-latency',
  'fanout',
  'query-throughput',
  'footprint',
  // Scale-out (PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, or BENCH_POSTGRES_URL / BENCH_REDIS_URL).
  'replica-events',
  'replica-describe-calls',
  'failover',
];
const only = process.argv.slice(2);
console.log(`machine: ${JSON.stringify(machine())}`);
let failed = 0;
for (const name of BENCHES.filter((b) => only.length === 0 || only.includes(b))) {
  console.log(`\n=== ${name} (load average before: ${load()}) ===`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`)], { cwd: ROOT, stdio: 'inherit' });
  console.log(
    `=== ${name}: exit ${r.status}, ${Math.round((performance.now() - t0) / 1000)} s, load average after: ${load()} ===`,
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
