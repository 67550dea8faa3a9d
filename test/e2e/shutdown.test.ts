// SIGTERM stops the server gracefully: the tracker stops, open subscriptions are closed, the
// database is closed, and a restart on the same database carries on with the same creation.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AmiCreationDocument, AmiProgressDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { collectOverWebSocket, eventually } from '../support/harness.js';
import { startServerProcess, startSimulatorProcess, type SimulatorProcess } from '../tracking/processes.js';

let sim: SimulatorProcess | undefined;
afterAll(() => sim?.stop());

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('graceful shutdown', () => {
  it('on SIGTERM closes subscriptions, logs "prism-ami stopped" and exits; a restart resumes the creation', async () => {
    sim = await startSimulatorProcess(['--speed', '2']);
    const databasePath = join(mkdtempSync(join(tmpdir(), 'prism-shutdown-')), 'prism.db');
    const server = await startServerProcess({ simulatorUrl: sim.url, databasePath });
    const created = await server.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'survives sigterm' } });
    if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(created.createAmi.__typename);
    const id = created.createAmi.creation.id;

    const watching = collectOverWebSocket(
      server.url,
      AmiProgressDocument,
      { id },
      { token: server.token!, timeoutMs: 20_000 },
    ).then(
      () => 'completed',
      (err: unknown) => String(err),
    );
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(server.pid, 'SIGTERM');
    await eventually(() => (alive(server.pid) ? undefined : true), 10_000);
    expect(server.logs().some((l) => l.msg === 'prism-ami stopped')).toBe(true);
    // The socket was closed by the server, not left hanging until the creation ended.
    expect(await watching).not.toBe('completed');

    const again = await startServerProcess({ simulatorUrl: sim.url, databasePath });
    try {
      const done = await eventually(async () => {
        const c = (await again.gql(AmiCreationDocument, { id })).amiCreation;
        return c?.status === 'COMPLETED' ? c : undefined;
      }, 30_000);
      expect(done.amiId).toBe(created.createAmi.creation.amiId);
    } finally {
      await again.kill('SIGTERM');
    }
  });
});
