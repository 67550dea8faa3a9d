// Assembles the services from their collaborators. app.ts calls this once; tests call it with
// an in-memory database and a gateway pointed at moto or the simulator.
import type { Config } from '../config.js';
import { createAmiCreationService } from './ami-creations.js';
import { createAmiService } from './amis.js';
import { createAuthService } from './auth.js';
import type { ServiceDeps } from './context.js';
import { createInstanceService } from './instances.js';
import { createLaunchService } from './launches.js';

export interface ServerInfo {
  version: string;
  ec2Backend: 'AWS' | 'SIMULATOR';
  sourceRegion: string;
}

export function createServices(deps: ServiceDeps, info: { version: string; backend: Config['ec2Backend'] }) {
  return {
    creations: createAmiCreationService(deps),
    amis: createAmiService(deps),
    instances: createInstanceService(deps),
    launches: createLaunchService(deps),
    auth: createAuthService({ db: deps.db, now: deps.clock.now }),
    clock: deps.clock,
    serverInfo: {
      version: info.version,
      ec2Backend: info.backend === 'aws' ? 'AWS' : 'SIMULATOR',
      sourceRegion: deps.sourceRegion,
    } satisfies ServerInfo,
  };
}

export type Services = ReturnType<typeof createServices>;
