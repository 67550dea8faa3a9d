// Responsible for the AMIs a creation produced: listing the viewer's and the community's, and
// changing who may launch them (publish, share), whether they may be removed (protect) or removing
// them (deregister).
import { amisOfCreation, findAmi, listAmis, updateAmi, type AmiListFilter, type AmiRecord } from '../db/amis.js';
import type { Logger } from 'pino';
import type { Store } from '../db/store.js';
import type { AmiVisibility } from '../db/schema.js';
import type { Clock, ServiceDeps } from './context.js';
import type { Ec2Gateway } from './ec2/types.js';
import { isDeregistrationProtected, publicAccessBlockedMessage, toDomainError } from './ec2/errors.js';
import { ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from './errors.js';
import { deleteSnapshotsOnEc2, deregisteredPatch, deregisterOnEc2 } from './image-removal.js';
import { applyLaunchPermissions, type PermissionChange } from './launch-permissions.js';
import { announceAmis, ownerAmiChanges } from './ami-events.js';
import { pageSize } from './ami-creations.js';
import { AMI_ID_PATTERN, validateAccountIds, validateTags } from './validation.js';
import type { RequestSnapshot, Viewer } from './viewer.js';
import { findCreation } from '../db/creations.js';

export type AmiService = ReturnType<typeof createAmiService>;

type ListArgs = { first?: number | null; after?: string | null; filter?: AmiListFilter | null };

/** What the changing operations need: the database, EC2, the clock and this service's logger. */
interface AmiDeps {
  db: Store;
  ec2: Ec2Gateway;
  clock: Clock;
  events: ServiceDeps['events'];
  log: Logger;
}

export function createAmiService(deps: ServiceDeps) {
  const { db, ec2, clock } = deps;
  const amiDeps: AmiDeps = { db, ec2, clock, events: deps.events, log: deps.logger.child({ service: 'amis' }) };

  return {
    listUser(viewer: Viewer, args: ListArgs, snapshot?: RequestSnapshot) {
      validateFilter(args.filter);
      return listAmis(db, {
        owner: viewer.user,
        filter: args.filter ?? null,
        first: pageSize(args.first),
        after: args.after ?? null,
        generation: snapshot?.amiGeneration,
      });
    },

    listCommunity(args: ListArgs, snapshot?: RequestSnapshot) {
      validateFilter(args.filter);
      return listAmis(db, {
        visibility: 'PUBLIC',
        filter: args.filter ?? null,
        first: pageSize(args.first),
        after: args.after ?? null,
        generation: snapshot?.amiGeneration,
      });
    },

    publish(viewer: Viewer, input: { amiId: string; public: boolean }): Promise<AmiRecord> {
      return publishAmi(amiDeps, viewer, input);
    },

    share(viewer: Viewer, input: { amiId: string; accountIds: readonly string[]; revoke?: boolean | null }): Promise<AmiRecord> {
      return shareAmi(amiDeps, viewer, input);
    },

    /** Turn one region's deregistration protection on or off, on EC2 and then on the row. */
    protect(viewer: Viewer, input: { amiId: string; enabled: boolean }): Promise<AmiRecord> {
      return protectAmi(amiDeps, viewer, input);
    },

    /** Deregister one region's AMI and delete its snapshots; it stays in history as DEREGISTERED. */
    deregister(viewer: Viewer, input: { amiId: string; deleteSnapshots?: boolean | null }): Promise<AmiRecord> {
      return deregisterAmi(amiDeps, viewer, input);
    },

    /** The viewer's own AMIs (admins too: only their own) as they change, from now on; never completes. */
    changes(viewer: Viewer): AsyncIterableIterator<AmiRecord> {
      return ownerAmiChanges(deps.events, viewer.user);
    },
  };
}

function validateFilter(filter: AmiListFilter | null | undefined): void {
  if (filter?.tags?.length) {
    // A filter may name the reserved prism-ami tags: only setting them is forbidden.
    const errors = validateTags(filter.tags, 'filter.tags', 50).filter((e) => !e.message.includes('reserved'));
    if (errors.length) throw new ValidationError(errors);
  }
}

/** The viewer's AMI, or the typed reason it cannot be changed. */
async function ownAmi(db: Store, viewer: Viewer, amiId: string): Promise<AmiRecord> {
  const ami = await knownAmi(db, amiId);
  if (ami.owner !== viewer.user) throw new ForbiddenError('FORBIDDEN', `AMI ${amiId} belongs to another user`);
  return ami;
}

async function knownAmi(db: Store, amiId: string): Promise<AmiRecord> {
  if (!AMI_ID_PATTERN.test(amiId)) {
    throw new ValidationError([{ path: 'input.amiId', message: `"${amiId}" is not an AMI id (ami-...)` }]);
  }
  const ami = await findAmi(db, amiId);
  if (!ami) throw new NotFoundError('AMI_NOT_FOUND', `No AMI ${amiId} was created through prism-ami`);
  return ami;
}

/** Owners change their AMIs; an admin may also take another user's AMI out of the community list. */
async function amiToPublish(db: Store, viewer: Viewer, input: { amiId: string; public: boolean }): Promise<AmiRecord> {
  const ami = await knownAmi(db, input.amiId);
  if (ami.owner === viewer.user) return ami;
  const unpublishing = !input.public && ami.visibility === 'PUBLIC';
  if (unpublishing && viewer.admin) return ami;
  throw new ForbiddenError(
    'FORBIDDEN',
    unpublishing
      ? `AMI ${input.amiId} belongs to another user; only its owner or an admin may unpublish it`
      : `AMI ${input.amiId} belongs to another user`,
  );
}

/** The AMI and its siblings (the other regions' images of the same creation) that are available. */
async function family(db: Store, ami: AmiRecord): Promise<AmiRecord[]> {
  const siblings = ami.creationId ? await amisOfCreation(db, ami.creationId) : [ami];
  return siblings.filter((a) => a.amiId === ami.amiId || a.state === 'AVAILABLE');
}

/** Changes every available region's image of the creation, not only the one named. */
async function publishAmi(deps: AmiDeps, viewer: Viewer, input: { amiId: string; public: boolean }): Promise<AmiRecord> {
  const ami = await amiToPublish(deps.db, viewer, input);
  if (ami.state !== 'AVAILABLE') {
    throw new InvalidStateError(
      'AMI_STATE_INVALID',
      `AMI ${ami.amiId} is ${ami.state.toLowerCase()}; only an available AMI can be published or unpublished`,
    );
  }
  const images = await family(deps.db, ami);
  if (input.public) await assertPublishable(deps.ec2, ami, images);
  for (const image of images) await applyTo(deps, image, { public: input.public });
  deps.log.info({ amiId: ami.amiId, public: input.public, images: images.length, by: viewer.user }, 'visibility changed');
  return (await findAmi(deps.db, ami.amiId))!;
}

/** Checked before any image changes, so a refusal leaves every region as it was. */
async function assertPublishable(ec2: Ec2Gateway, ami: AmiRecord, images: AmiRecord[]): Promise<void> {
  if (images.some((a) => a.encrypted)) {
    throw new ValidationError([
      {
        path: 'input.public',
        message: `AMI ${ami.amiId} is encrypted, and EC2 does not allow public encrypted AMIs. Share it with accounts instead: that works when it is encrypted with a customer managed key.`,
      },
    ]);
  }
  for (const region of new Set(images.map((a) => a.region))) {
    const state = await domainErrors(ec2.getImageBlockPublicAccessState(region));
    if (state === 'block-new-sharing') throw new ForbiddenError('PUBLIC_ACCESS_BLOCKED', publicAccessBlockedMessage(region));
  }
}

async function shareAmi(
  deps: AmiDeps,
  viewer: Viewer,
  input: { amiId: string; accountIds: readonly string[]; revoke?: boolean | null },
): Promise<AmiRecord> {
  const errors = validateAccountIds(input.accountIds, 'input.accountIds');
  if (input.accountIds.length === 0) errors.push({ path: 'input.accountIds', message: 'at least one account id is required' });
  if (errors.length) throw new ValidationError(errors);
  const ami = await ownAmi(deps.db, viewer, input.amiId);
  if (ami.state === 'DEREGISTERED' || ami.state === 'FAILED') {
    throw new ValidationError([{ path: 'input.amiId', message: `AMI ${ami.amiId} is ${ami.state.toLowerCase()}` }]);
  }
  const change = input.revoke ? { removeAccounts: input.accountIds } : { addAccounts: input.accountIds };
  for (const image of await family(deps.db, ami)) await applyTo(deps, image, change);
  return (await findAmi(deps.db, ami.amiId))!;
}

function applyTo(
  deps: AmiDeps,
  image: AmiRecord,
  change: Omit<PermissionChange, 'region' | 'amiId' | 'snapshotIds'>,
): Promise<AmiVisibility> {
  const { db, ec2, clock, events } = deps;
  return domainErrors(
    applyLaunchPermissions(
      { db, ec2, events, now: clock.now },
      { region: image.region, amiId: image.amiId, snapshotIds: image.snapshotIds, ...change },
    ),
  );
}

async function deregisterAmi(
  deps: AmiDeps,
  viewer: Viewer,
  input: { amiId: string; deleteSnapshots?: boolean | null },
): Promise<AmiRecord> {
  const { db, ec2, clock } = deps;
  const ami = await ownAmi(db, viewer, input.amiId);
  if (ami.state === 'DEREGISTERED') return ami;
  if (ami.deregistrationProtection) throw protectedError(ami.amiId);
  await assertNotBeingCreated(db, ami);
  const snapshotIds = await deregisterOnEc2(ec2, ami).catch((err: unknown) => {
    // Turned on outside prism-ami (the console, the CLI): EC2 refuses, and the row learns it.
    if (!isDeregistrationProtected(err)) throw toDomainError(err);
    return updateAmi(db, ami.amiId, { deregistrationProtection: true, updatedAt: clock.now() }).then(() => {
      throw protectedError(ami.amiId);
    });
  });
  // Recorded before the snapshots go: a snapshot EC2 will not delete must not leave the row AVAILABLE.
  await updateAmi(db, ami.amiId, deregisteredPatch(clock.now()));
  await announceAmis(deps, [ami.amiId]);
  const deleteSnapshots = input.deleteSnapshots ?? true;
  if (deleteSnapshots) await domainErrors(deleteSnapshotsOnEc2(ec2, ami.region, snapshotIds));
  deps.log.info({ amiId: ami.amiId, snapshots: deleteSnapshots ? snapshotIds.length : 0 }, 'deregistered');
  return (await findAmi(db, ami.amiId))!;
}

function protectedError(amiId: string): InvalidStateError {
  return new InvalidStateError(
    'AMI_STATE_INVALID',
    `AMI ${amiId} has deregistration protection on, so it cannot be deregistered. Lift it first with ` +
      `protectAmi(input: { amiId: "${amiId}", enabled: false }) or \`prism-ami protect ${amiId} --off\`, then deregister it.`,
  );
}

/** One image only: deregisterAmi removes one region's image, so its protection is per region too. */
async function protectAmi(deps: AmiDeps, viewer: Viewer, input: { amiId: string; enabled: boolean }): Promise<AmiRecord> {
  const { db, ec2, clock } = deps;
  const ami = await ownAmi(db, viewer, input.amiId);
  if (ami.state !== 'AVAILABLE') {
    throw new InvalidStateError(
      'AMI_STATE_INVALID',
      `AMI ${ami.amiId} is ${ami.state.toLowerCase()}; only an available AMI's deregistration protection can be changed`,
    );
  }
  await domainErrors(
    input.enabled
      ? ec2.enableDeregistrationProtection(ami.region, ami.amiId)
      : ec2.disableDeregistrationProtection(ami.region, ami.amiId),
  );
  await updateAmi(db, ami.amiId, { deregistrationProtection: input.enabled, updatedAt: clock.now() });
  deps.log.info({ amiId: ami.amiId, enabled: input.enabled, by: viewer.user }, 'deregistration protection changed');
  return (await findAmi(db, ami.amiId))!;
}

/** A running creation owns its images: deregistering under it would race the tracker. */
async function assertNotBeingCreated(db: Store, ami: AmiRecord): Promise<void> {
  const creation = ami.creationId ? await findCreation(db, ami.creationId) : undefined;
  if (creation && (creation.status === 'PENDING' || creation.status === 'IN_PROGRESS')) {
    throw new ValidationError([
      {
        path: 'input.amiId',
        message: `creation ${creation.id} is still working on ${ami.amiId}; cancel it with cancelAmiCreation instead`,
      },
    ]);
  }
}

/** EC2's failures as the contract's error codes. */
function domainErrors<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((err: unknown) => {
    throw toDomainError(err);
  });
}
