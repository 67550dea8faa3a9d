// The prism-ami server in its own process for the benchmarks, built exactly as src/main.ts builds
// it (loadConfig(process.env) → buildApp → start), plus an IPC channel so the parent can read this
// process's own CPU time and memory (after a forced GC) without sharing its event loop.
//
//   node --expose-gc --import tsx bench/support/server-child.ts   (env: the server's usual variables)
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { BENCH_USER } from './common.js';

export type ServerChildRequest =
  | { id: number; cmd: 'usage'; gc?: boolean }
  | { id: number; cmd: 'profile-start' }
  | { id: number; cmd: 'profile-stop'; file: string }
  | { id: number; cmd: 'heap-snapshot'; file: string }
  | { id: number; cmd: 'stop' };
export interface Usage {
  cpuUserMs: number;
  cpuSystemMs: number;
  rss: number;
  heapUsed: number;
  external: number;
}
export type ServerChildMessage = { type: 'ready'; url: string; token: string } | { type: 'reply'; id: number; usage?: Usage };

function usage(gc: boolean): Usage {
  if (gc && typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
  };
}

// As src/main.ts: graphql-js in production mode unless NODE_ENV says otherwise, set before it loads.
process.env.NODE_ENV ??= 'production';
const { buildApp } = await import('../../src/app.js');
const config = loadConfig(process.env);
const app = await buildApp(config, createLogger(config.logLevel));
const url = await app.start();
const token = (await app.services.auth.createToken(BENCH_USER)).token;
process.send!({ type: 'ready', url, token } satisfies ServerChildMessage);

// A CPU profile of just the measured window (V8's sampling profiler through the inspector).
let session: Session | undefined;
async function profile(msg: ServerChildRequest): Promise<void> {
  if (msg.cmd === 'profile-start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  } else if (msg.cmd === 'profile-stop' && session) {
    const { profile: p } = await session.post('Profiler.stop');
    writeFileSync(msg.file, JSON.stringify(p));
    session.disconnect();
    session = undefined;
  }
  process.send!({ type: 'reply', id: msg.id } satisfies ServerChildMessage);
}

process.on('message', (msg: ServerChildRequest) => {
  if (msg.cmd === 'profile-start' || msg.cmd === 'profile-stop') {
    void profile(msg);
  } else if (msg.cmd === 'heap-snapshot') {
    writeHeapSnapshot(msg.file);
    process.send!({ type: 'reply', id: msg.id } satisfies ServerChildMessage);
  } else if (msg.cmd === 'usage') {
    process.send!({ type: 'reply', id: msg.id, usage: usage(msg.gc ?? false) } satisfies ServerChildMessage);
  } else if (msg.cmd === 'stop') {
    void app.stop().then(() => {
      process.send!({ type: 'reply', id: msg.id } satisfies ServerChildMessage, () => process.exit(0));
    });
  }
});
process.on('disconnect', () => process.exit(0));
