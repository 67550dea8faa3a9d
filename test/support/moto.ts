// Starts moto_server (an independent EC2 implementation) on a free port for one test file: reads the
// port from its banner, waits until it answers, and resets it between tests.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Moto {
  url: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    env: {
      ...process.env,
      MOTO_EC2_LOAD_DEFAULT_AMIS: 'false',
      // EC2 always refuses a RunInstances KeyName the region has no key pair for; moto only when told.
      MOTO_ENABLE_KEYPAIR_VALIDATION: 'true',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`moto_server did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code}:\n${output}`));
    });
  });
  // Keep draining its output so the pipe never fills up and blocks moto.
  child.stdout?.resume();
  child.stderr?.resume();
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async reset() {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
