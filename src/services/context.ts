// The narrow set of collaborators services share. Built once in app.ts; tests build their own.
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import type { AmiRecord } from '../db/amis.js';
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

/** What an event carries: the full current record of a creation or of an AMI, as its topic says. */
export type LiveRecord = CreationRecord | AmiRecord;

export const systemClock: Clock = { now: () => Date.now() };

export interface ServiceDeps {
  db: Store;
  ec2: Ec2Gateway;
  /** SSM Parameter Store, where createAmi's ssmParameter is written in each image's region. */
  ssm: SsmGateway;
  /** Live changes: creation topics carry CreationRecords, owner-AMI topics AmiRecords (see the topic functions). */
  events: EventHub<LiveRecord>;
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

/** Every change of any of `owner`'s creations, new ones included (amiCreationChanges). */
export function ownerCreationsTopic(owner: string): string {
  return `owner-creations:${owner}`;
}

/** `owner`'s AMIs as they become available, are published, shared or deregistered (amiChanges). */
export function ownerAmisTopic(owner: string): string {
  return `owner-amis:${owner}`;
}

/**
 * Values of a creation topic (creationTopic, ownerCreationsTopic): each topic is published by one
 * kind of writer only (the lifecycle for creations, ami-events for AMIs), so its kind is known.
 */
export function creationUpdates(events: EventHub<LiveRecord>, topic: string): AsyncIterableIterator<CreationRecord> {
  return events.subscribe(topic) as AsyncIterableIterator<CreationRecord>;
}

/** Values of an owner-AMI topic (ownerAmisTopic), published by ami-events only. */
export function amiUpdates(events: EventHub<LiveRecord>, topic: string): AsyncIterableIterator<AmiRecord> {
  return events.subscribe(topic) as AsyncIterableIterator<AmiRecord>;
}
