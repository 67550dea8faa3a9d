// The narrow set of collaborators services share. Built once in app.ts; tests build their own.
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import type { CreationRecord } from '../db/creations.js';
import type { CreationReservations } from './creation-cap.js';
import type { Ec2Gateway } from './ec2/types.js';
import type { InstanceAccessPolicy } from './instance-access.js';
import type { EventHub } from './events.js';
import type { RegionDirectory } from './regions.js';
import type { SsmGateway } from './ssm/types.js';

export interface Clock {
  now: () => number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ServiceDeps {
  db: Store;
  ec2: Ec2Gateway;
  /** SSM Parameter Store, where createAmi's ssmParameter is written in each image's region. */
  ssm: SsmGateway;
  events: EventHub<CreationRecord>;
  regions: RegionDirectory;
  clock: Clock;
  logger: Logger;
  sourceRegion: string;
  /** Creations whose CreateImage call is under way in this process; the tracker leaves them alone. */
  inFlight: Set<string>;
  /** Who may capture which instance. */
  access: InstanceAccessPolicy;
  /** Per-user caps the services enforce (connections and subscriptions are the transports'). */
  limits: { maxActiveCreationsPerUser: number };
  /** Who holds the places of creations being started: this process unless replicas share them (Redis). */
  reservations?: CreationReservations;
}

export function creationTopic(id: string): string {
  return `creation:${id}`;
}
