// `prism-ami token create|list|revoke`: server-side administration of API tokens. These commands
// open the server's database directly (DATABASE_URL, or the SQLite file at DATABASE_PATH), so they
// run where the server runs or wherever its PostgreSQL is reachable.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openStore } from '../db/store.js';
import { createAuthService } from '../services/auth.js';
import { ValidationError } from '../services/errors.js';
import { CliError } from './errors.js';

async function withAuth<T>(
  env: Record<string, string | undefined>,
  run: (auth: ReturnType<typeof createAuthService>) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const store = await openStore({ databaseUrl: config.databaseUrl, databasePath: config.databasePath });
  try {
    return await run(createAuthService({ db: store, now: Date.now }));
  } finally {
    await store.close();
  }
}

/** Expected failures (a bad user name, an unknown id) become the CLI's typed error. */
function rethrow(err: unknown): never {
  if (err instanceof ValidationError) {
    throw new CliError('invalid arguments', { code: err.code, details: err.fieldErrors.map((f) => `${f.path}: ${f.message}`) });
  }
  throw err;
}

export function registerTokenCommands(program: Command, env: Record<string, string | undefined>): void {
  const token = program
    .command('token')
    .description('Manage API tokens (on the server machine; uses DATABASE_URL or DATABASE_PATH)');

  token
    .command('create')
    .description('Create a token for a user; prints it once (last line of stdout)')
    .requiredOption('--user <name>', 'user the token authenticates as')
    .option('--admin', 'an admin token: may capture any instance and unpublish any community AMI')
    .action(async (opts: { user: string; admin?: boolean }) => {
      try {
        const created = await withAuth(env, (auth) => auth.createToken(opts.user, { admin: opts.admin ?? false }));
        const kind = created.admin ? 'Admin token' : 'Token';
        process.stderr.write(`${kind} ${created.id} for user "${created.user}" (shown once; only its hash is stored):\n`);
        process.stdout.write(`${created.token}\n`);
      } catch (err) {
        rethrow(err);
      }
    });

  token
    .command('list')
    .description('List tokens (ids, users, dates; never the tokens themselves)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await withAuth(env, (auth) => auth.list());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) process.stdout.write('No tokens.\n');
      for (const r of rows) {
        const state = r.revokedAt ? `revoked ${new Date(r.revokedAt).toISOString()}` : 'active';
        const role = r.admin ? 'admin' : 'user ';
        process.stdout.write(
          `${r.id}  ${r.user.padEnd(16)}  ${role}  created ${new Date(r.createdAt).toISOString()}  ${state}\n`,
        );
      }
    });

  token
    .command('revoke <id>')
    .description('Revoke a token by its id (or a unique prefix of it)')
    .action(async (id: string) => {
      try {
        const row = await withAuth(env, (auth) => auth.revoke(id));
        process.stdout.write(`Revoked token ${row.id} of user "${row.user}".\n`);
      } catch (err) {
        rethrow(err);
      }
    });
}
