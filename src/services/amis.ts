// Responsible for the AMIs a creation produced: listing the viewer's and the community's, and
// changing who may launch them (publish, share) or removing them (deregister).
import {
  amisOfCreation,
  findAmi,
  listAmis,
  updateAmi,
  type AmiListFilter,
  type AmiRecord,
} from '../db/amis.js';
import type { ServiceDeps } from './context.js';
import { isNotFound, publicAccessBlockedMessage, toDomainError } from './ec2/errors.js';
import { ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from './errors.js';
import { applyLaunchPermissions } from './launch-permissions.js';
import { pageSize } from './ami-creations.js';
import { AMI_ID_PATTERN, validateAccountIds, validateTags } from './validation.js';
import type { Viewer } from './viewer.js';
import { findCreation } from '../db/creations.js';

export type AmiService = ReturnType<typeof createAmiService>;

export function createAmiService(deps: ServiceDeps) {
  const { db, ec2, clock } = deps;
  const log = deps.logger.child({ service: 'amis' });

  function validateFilter(filter: AmiListFilter | null | undefined): void {
    if (filter?.tags?.length) {
      const errors = validateTags(filter.tags, 'filter.tags', 50).filter((e) => !e.message.includes('reserved'));
      if (errors.length) throw new ValidationError(errors);
    }
  }

  /** The viewer's AMI, or the typed reason it cannot be changed. */
  function ownAmi(viewer: Viewer, amiId: string): AmiRecord {
    if (!AMI_ID_PATTERN.test(amiId)) {
      throw new ValidationError([{ path: 'input.amiId', message: `"${amiId}" is not an AMI id (ami-...)` }]);
    }
    const ami = findAmi(db, amiId);
    if (!ami) throw new NotFoundError('AMI_NOT_FOUND', `No AMI ${amiId} was created through prism-ami`);
    if (ami.owner !== viewer.user) throw new ForbiddenError('FORBIDDEN', `AMI ${amiId} belongs to another user`);
    return ami;
  }

  /** The AMI and its siblings (the other regions' images of the same creation) that are available. */
  function family(ami: AmiRecord): AmiRecord[] {
    const siblings = ami.creationId ? amisOfCreation(db, ami.creationId) : [ami];
    return siblings.filter((a) => a.amiId === ami.amiId || a.state === 'AVAILABLE');
  }

  return {
    listUser(viewer: Viewer, args: { first?: number | null; after?: string | null; filter?: AmiListFilter | null }) {
      validateFilter(args.filter);
      return listAmis(db, { owner: viewer.user, filter: args.filter ?? null, first: pageSize(args.first), after: args.after ?? null });
    },

    listCommunity(args: { first?: number | null; after?: string | null; filter?: AmiListFilter | null }) {
      validateFilter(args.filter);
      return listAmis(db, { visibility: 'PUBLIC', filter: args.filter ?? null, first: pageSize(args.first), after: args.after ?? null });
    },

    async publish(viewer: Viewer, input: { amiId: string; public: boolean }): Promise<AmiRecord> {
      const ami = ownAmi(viewer, input.amiId);
      if (ami.state !== 'AVAILABLE') {
        throw new InvalidStateError('AMI_STATE_INVALID', `AMI ${ami.amiId} is ${ami.state.toLowerCase()}; only an available AMI can be published or unpublished`);
      }
      const images = family(ami);
      if (input.public) {
        if (images.some((a) => a.encrypted)) {
          throw new ValidationError([
            { path: 'input.public', message: `AMI ${ami.amiId} has encrypted snapshots; EC2 cannot make it public. Share it with accounts instead.` },
          ]);
        }
        for (const region of new Set(images.map((a) => a.region))) {
          const state = await ec2.getImageBlockPublicAccessState(region).catch((err: unknown) => {
            throw toDomainError(err);
          });
          if (state === 'block-new-sharing') throw new ForbiddenError('PUBLIC_ACCESS_BLOCKED', publicAccessBlockedMessage(region));
        }
      }
      for (const image of images) {
        await applyLaunchPermissions(
          { db, ec2, now: clock.now },
          { region: image.region, amiId: image.amiId, snapshotIds: image.snapshotIds, public: input.public },
        ).catch((err: unknown) => {
          throw toDomainError(err);
        });
      }
      log.info({ amiId: ami.amiId, public: input.public, images: images.length }, 'visibility changed');
      return findAmi(db, ami.amiId)!;
    },

    async share(viewer: Viewer, input: { amiId: string; accountIds: readonly string[]; revoke?: boolean | null }): Promise<AmiRecord> {
      const errors = validateAccountIds(input.accountIds, 'input.accountIds');
      if (input.accountIds.length === 0) errors.push({ path: 'input.accountIds', message: 'at least one account id is required' });
      if (errors.length) throw new ValidationError(errors);
      const ami = ownAmi(viewer, input.amiId);
      if (ami.state === 'DEREGISTERED' || ami.state === 'FAILED') {
        throw new ValidationError([{ path: 'input.amiId', message: `AMI ${ami.amiId} is ${ami.state.toLowerCase()}` }]);
      }
      for (const image of family(ami)) {
        await applyLaunchPermissions(
          { db, ec2, now: clock.now },
          {
            region: image.region,
            amiId: image.amiId,
            snapshotIds: image.snapshotIds,
            ...(input.revoke ? { removeAccounts: input.accountIds } : { addAccounts: input.accountIds }),
          },
        ).catch((err: unknown) => {
          throw toDomainError(err);
        });
      }
      return findAmi(db, ami.amiId)!;
    },

    /** Deregister one region's AMI and delete its snapshots; it stays in history as DEREGISTERED. */
    async deregister(viewer: Viewer, input: { amiId: string; deleteSnapshots?: boolean | null }): Promise<AmiRecord> {
      const ami = ownAmi(viewer, input.amiId);
      if (ami.state === 'DEREGISTERED') return ami;
      const creation = ami.creationId ? findCreation(db, ami.creationId) : undefined;
      if (creation && (creation.status === 'PENDING' || creation.status === 'IN_PROGRESS')) {
        throw new ValidationError([
          { path: 'input.amiId', message: `creation ${creation.id} is still working on ${ami.amiId}; cancel it with cancelAmiCreation instead` },
        ]);
      }
      // Read the snapshot ids from EC2 (the local record may predate them) before they are detached.
      const [image] = await ec2.findImages(ami.region, { ids: [ami.amiId] }).catch((err: unknown) => {
        throw toDomainError(err);
      });
      const snapshotIds = [...new Set([...(image?.snapshotIds ?? []), ...ami.snapshotIds])];
      try {
        if (image) await ec2.deregisterImage(ami.region, ami.amiId);
      } catch (err) {
        if (!isNotFound(err)) throw toDomainError(err);
      }
      updateAmi(db, ami.amiId, { state: 'DEREGISTERED', visibility: 'PRIVATE', updatedAt: clock.now() });
      if (input.deleteSnapshots ?? true) {
        for (const snapshotId of snapshotIds) {
          try {
            await ec2.deleteSnapshot(ami.region, snapshotId);
          } catch (err) {
            if (!isNotFound(err)) throw toDomainError(err);
          }
        }
      }
      log.info({ amiId: ami.amiId, snapshots: input.deleteSnapshots ?? true ? snapshotIds.length : 0 }, 'deregistered');
      return findAmi(db, ami.amiId)!;
    },
  };
}
