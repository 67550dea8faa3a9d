// A replica reduced to its leases, for the crash test: holds the regions named on the command line
// and says so, then idles until it is killed. Run with `node --import tsx`, so a SIGKILL hits it.
import { pino } from 'pino';
import { createPgRegionLeases, type LeaseScope } from '../../src/db/region-leases.js';

const [connectionString, scope, ...regions] = process.argv.slice(2);
const leases = createPgRegionLeases({
  connectionString: connectionString!,
  scope: scope as LeaseScope,
  logger: pino({ level: 'silent' }),
  applicationName: 'lease holder process',
});
for (const region of regions) {
  if (!(await leases.holds(region))) throw new Error(`could not take ${region}`);
}
console.log(`holding ${leases.held().join(' ')}`);
setInterval(() => undefined, 60_000);
