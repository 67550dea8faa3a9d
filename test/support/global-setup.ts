// Fail the run at once (not skip) when moto, the independent EC2 implementation the integration
// tests run against, is not installed.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'moto_server is required by the integration tests and was not found. Install it with: pip install "moto[server]==5.2.1"',
    );
  }
}
