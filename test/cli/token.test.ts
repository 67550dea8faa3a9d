// `prism-ami token …` against a real database file: the token is printed once, works against a
// server on the same database, and stops working when revoked.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ServerInfoDocument } from '../../src/generated/graphql/graphql.js';
import { startTestApp } from '../support/harness.js';
import { cleanEnv, runCli } from './run-cli.js';

describe('prism-ami token', () => {
  it('creates a token (last line of stdout), lists it without the secret, and revokes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-token-'));
    const env = cleanEnv({ DATABASE_PATH: join(dir, 'prism.db') });
    const created = await runCli(['token', 'create', '--user', 'carol'], { env });
    expect(created.code).toBe(0);
    const token = created.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^pam_[A-Za-z0-9_-]{40,}$/);

    const listed = await runCli(['token', 'list', '--json'], { env });
    const rows = JSON.parse(listed.stdout) as { id: string; user: string; revokedAt: number | null }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user: 'carol', revokedAt: null });
    expect(listed.stdout).not.toContain(token);

    // A server on the same database accepts it, until it is revoked.
    const t = await startTestApp({ EC2_BACKEND: 'simulator', DATABASE_PATH: env.DATABASE_PATH! });
    try {
      const ask = () =>
        fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: print(ServerInfoDocument) }),
        });
      const ok = (await (await ask()).json()) as { data: { viewer: { user: string } } };
      expect(ok.data.viewer.user).toBe('carol');
      const revoked = await runCli(['token', 'revoke', rows[0]!.id.slice(0, 4)], { env });
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toMatch(/Revoked token .* "carol"/);
      expect((await ask()).status).toBe(401);
    } finally {
      await t.stop();
    }
  });

  it('creates an admin token with --admin: the server answers viewer { admin } true for it, false for a plain one', async () => {
    const env = cleanEnv({ DATABASE_PATH: join(mkdtempSync(join(tmpdir(), 'prism-token-')), 'prism.db') });
    const admin = await runCli(['token', 'create', '--user', 'dana', '--admin'], { env });
    expect(admin.code).toBe(0);
    expect(admin.stderr).toMatch(/Admin token .* for user "dana"/);
    const plain = await runCli(['token', 'create', '--user', 'erin'], { env });
    const last = (out: string) => out.trim().split('\n').at(-1)!;
    const listed = JSON.parse((await runCli(['token', 'list', '--json'], { env })).stdout) as { user: string; admin: boolean }[];
    expect(listed.map((r) => [r.user, r.admin]).sort()).toEqual([
      ['dana', true],
      ['erin', false],
    ]);

    const t = await startTestApp({ EC2_BACKEND: 'simulator', DATABASE_PATH: env.DATABASE_PATH! });
    try {
      const viewer = async (token: string) => {
        const res = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ viewer { user admin } }' }),
        });
        return ((await res.json()) as { data: { viewer: { user: string; admin: boolean } } }).data.viewer;
      };
      expect(await viewer(last(admin.stdout))).toEqual({ user: 'dana', admin: true });
      expect(await viewer(last(plain.stdout))).toEqual({ user: 'erin', admin: false });
    } finally {
      await t.stop();
    }
  });

  it('refuses a bad user name and an unknown id with a typed error and exit code 1', async () => {
    const env = cleanEnv({ DATABASE_PATH: join(mkdtempSync(join(tmpdir(), 'prism-token-')), 'prism.db') });
    const bad = await runCli(['token', 'create', '--user', 'no spaces'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/VALIDATION_FAILED[\s\S]*user:/);
    const unknown = await runCli(['token', 'revoke', 'ffffffff'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no active token/);
  });
});
