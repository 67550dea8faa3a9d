#!/usr/bin/env node
// Fails when regenerating the committed generated files (schema.graphql, typed documents,
// drizzle migrations) would change them: they must be regenerated and committed with the change.
import { execSync } from 'node:child_process';

const run = (cmd) => execSync(cmd, { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const paths = 'schema.graphql src/generated web/src/generated drizzle';

run('npx graphql-codegen --config codegen.ts --silent');
run('npx drizzle-kit generate --name check');
run('npx drizzle-kit generate --config drizzle.pg.config.ts --name check');
const changed = run(`git status --porcelain -- ${paths}`).trim();
if (changed) {
  console.error('Generated files are out of date; run `npm run codegen` and `npm run db:generate`, then commit:');
  console.error(changed);
  console.error(run(`git diff --stat -- ${paths}`));
  process.exit(1);
}
console.log('generated files: up to date');
