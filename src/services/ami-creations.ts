// Responsible for starting AMI creations and answering questions about them: validates the
// request as EC2 would, resolves the instance, records the creation *before* CreateImage (so a
// crash loses nothing), then hands the rest to the progress tracker.
import { randomUUID } from 'node:crypto';
import {
  deleteCreation,
  findCreation,
  findCreationByAmiId,
  findCreationByIdempotencyKey,
  insertCreation,
  listCreations,
  pendingCreationWithName,
  updateCreation,
  type CreationRecord,
} from '../db/creations.js';
import { upsertAmi } from '../db/amis.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/pagination.js';
import { isTerminal, type CreationStatus } from '../db/schema.js';
import { creationTopic, type ServiceDeps } from './context.js';
import { Ec2CallError, isRejection, publicAccessBlockedMessage, toDomainError } from './ec2/errors.js';
import type { Ec2Instance } from './ec2/types.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import { finishCancel, removeLateImage } from './cancellation.js';
import { pendingAmi } from './ami-records.js';
import { imageTags, TAG_CREATION_ID } from './system-tags.js';
import { INSTANCE_ID_PATTERN, validateCreateAmi, type CreateAmiRequest } from './validation.js';
import type { Viewer } from './viewer.js';

const IMAGEABLE_STATES = new Set(['running', 'stopped']);

export type AmiCreationService = ReturnType<typeof createAmiCreationService>;

export function createAmiCreationService(deps: ServiceDeps) {
  const { db, ec2, events, clock, sourceRegion } = deps;
  const log = deps.logger.child({ service: 'ami-creations' });

  function publish(id: string): CreationRecord | undefined {
    const record = findCreation(db, id);
    if (record) events.publish(creationTopic(id), record);
    return record;
  }

  async function resolveInstance(ref: string): Promise<Ec2Instance> {
    if (INSTANCE_ID_PATTERN.test(ref)) {
      try {
        const [instance] = await ec2.describeInstances(sourceRegion, { ids: [ref] });
        if (instance && instance.state !== 'terminated') return instance;
      } catch (err) {
        throw toDomainError(err);
      }
      throw new NotFoundError('INSTANCE_NOT_FOUND', `No instance ${ref} in ${sourceRegion}`);
    }
    let candidates: Ec2Instance[];
    try {
      candidates = (await ec2.describeInstances(sourceRegion, { nameTag: ref })).filter((i) => i.state !== 'terminated');
    } catch (err) {
      throw toDomainError(err);
    }
    if (candidates.length === 0) {
      throw new NotFoundError(
        'INSTANCE_NOT_FOUND',
        `No instance with id or Name tag "${ref}" in ${sourceRegion} (terminated instances are not considered)`,
      );
    }
    if (candidates.length > 1) {
      const list = candidates.map((i) => `${i.id} (${i.state})`).join(', ');
      throw new ConflictError(
        'INSTANCE_AMBIGUOUS',
        `${candidates.length} instances are named "${ref}": ${list}. Pass the instance id instead.`,
      );
    }
    return candidates[0]!;
  }

  async function checkNameFree(name: string): Promise<void> {
    const pending = pendingCreationWithName(db, sourceRegion, name);
    if (pending) {
      throw new ConflictError('AMI_NAME_TAKEN', `Creation ${pending.id} is already creating an AMI named "${name}" in ${sourceRegion}`);
    }
    let existing;
    try {
      existing = (await ec2.findImages(sourceRegion, { name })).filter((i) => i.state !== 'deregistered');
    } catch (err) {
      throw toDomainError(err);
    }
    if (existing.length > 0) {
      throw new ConflictError(
        'AMI_NAME_TAKEN',
        `An AMI named "${name}" already exists in ${sourceRegion} (${existing[0]!.id}); choose another name or deregister it first`,
      );
    }
  }

  return {
    async create(viewer: Viewer, input: CreateAmiRequest): Promise<CreationRecord> {
      const fieldErrors = validateCreateAmi(input, { knownRegions: await deps.regions.knownRegions(), sourceRegion });
      if (fieldErrors.length) throw new ValidationError(fieldErrors);

      if (input.idempotencyKey) {
        const existing = findCreationByIdempotencyKey(db, viewer.user, input.idempotencyKey);
        if (existing) return existing;
      }

      const wantsPublic = input.public ?? false;
      if (wantsPublic) {
        const state = await ec2.getImageBlockPublicAccessState(sourceRegion).catch((err: unknown) => {
          throw toDomainError(err);
        });
        if (state === 'block-new-sharing') {
          throw new ForbiddenError('PUBLIC_ACCESS_BLOCKED', publicAccessBlockedMessage(sourceRegion));
        }
      }

      const instanceRef = input.instance.trim();
      const instance = await resolveInstance(instanceRef);
      if (!IMAGEABLE_STATES.has(instance.state)) {
        throw new InvalidStateError(
          'INSTANCE_STATE_INVALID',
          `Instance ${instance.id} is ${instance.state}; an AMI can be created only from a running or stopped instance. Wait until it is running or stopped and try again.`,
        );
      }
      await checkNameFree(input.name);

      const volumes = await ec2.describeVolumes(sourceRegion, instance.volumeIds).catch((err: unknown) => {
        throw toDomainError(err);
      });
      const sizeGiB = volumes.reduce((sum, v) => sum + v.sizeGiB, 0);
      if (wantsPublic && volumes.some((v) => v.encrypted)) {
        throw new ValidationError([
          {
            path: 'input.public',
            message: `instance ${instance.id} has encrypted volumes; EC2 cannot make an AMI with encrypted snapshots public. Share it with accounts instead.`,
          },
        ]);
      }

      const now = clock.now();
      const id = randomUUID();
      const tags = (input.tags ?? []).map((t) => ({ key: t.key, value: t.value }));
      const label = instance.name && instance.name !== instance.id ? `${instance.id} (${instance.name})` : instance.id;
      try {
        insertCreation(
          db,
          {
            id,
            owner: viewer.user,
            idempotencyKey: input.idempotencyKey ?? null,
            name: input.name,
            description: input.description ?? null,
            templateName: input.templateName ?? null,
            instanceId: instance.id,
            sourceRegion,
            architecture: instance.architecture ?? null,
            status: 'PENDING',
            stage: 'VALIDATING',
            progress: 0,
            message: `Requesting an image of ${label}`,
            noReboot: input.noReboot ?? false,
            public: wantsPublic,
            shareAccounts: [...(input.shareWithAccounts ?? [])],
            sizeGiB,
            snapshotIds: [],
            imageRequestedAt: now,
            createdAt: now,
            updatedAt: now,
          },
          tags,
          [...(input.copyToRegions ?? [])],
        );
      } catch (err) {
        // Two retries with the same key raced: the first insert won; answer with it.
        if (input.idempotencyKey && /UNIQUE/.test(String(err))) {
          const existing = findCreationByIdempotencyKey(db, viewer.user, input.idempotencyKey);
          if (existing) return existing;
        }
        throw err;
      }
      publish(id);

      const systemAndUserTags = imageTags({ id, owner: viewer.user, templateName: input.templateName ?? null, tags });
      /** Record the image EC2 made; false when the creation was cancelled meanwhile. */
      const recordImage = async (amiId: string): Promise<boolean> => {
        const at = clock.now();
        const stillWanted = updateCreation(
          db,
          id,
          { amiId, status: 'IN_PROGRESS', stage: 'SNAPSHOTTING', message: 'Creating snapshot - 0% complete', updatedAt: at },
          [],
          { onlyIfActive: true },
        );
        if (!stillWanted) {
          // Cancelled while CreateImage was under way: remove the image and its snapshots too.
          await removeLateImage(deps, { id, sourceRegion }, { region: sourceRegion, amiId });
          return false;
        }
        upsertAmi(
          db,
          pendingAmi(
            {
              id,
              owner: viewer.user,
              name: input.name,
              description: input.description ?? null,
              architecture: instance.architecture ?? null,
              sizeGiB,
              templateName: input.templateName ?? null,
            },
            amiId,
            sourceRegion,
            at,
          ),
          systemAndUserTags,
        );
        log.info({ creationId: id, amiId, instanceId: instance.id }, 'CreateImage accepted');
        return true;
      };

      deps.inFlight.add(id);
      try {
        const amiId = await ec2.createImage(sourceRegion, {
          instanceId: instance.id,
          name: input.name,
          description: input.description ?? undefined,
          noReboot: input.noReboot ?? false,
          tags: systemAndUserTags,
        });
        if (!(await recordImage(amiId))) return findCreation(db, id)!;
      } catch (err) {
        if (isRejection(err)) {
          // The name was free a moment ago. A Duplicate now is either another request that won the
          // race, or our own request landing twice (the SDK retried after a lost answer): only the
          // second carries this creation's tag, and then the image is ours to keep.
          if (err instanceof Ec2CallError && err.ec2Code === 'InvalidAMIName.Duplicate') {
            const [ours] = await ec2
              .findImages(sourceRegion, { tag: { key: TAG_CREATION_ID, values: [id] } })
              .catch(() => []);
            if (ours) {
              if (!(await recordImage(ours.id))) return findCreation(db, id)!;
              return publish(id)!;
            }
          }
          // EC2 refused: no image exists, so nothing must remain of this request.
          deleteCreation(db, id);
          throw toDomainError(err);
        }
        // The outcome is unknown (network, 5xx, throttled past retries): keep the creation; the
        // tracker adopts the image by its tag or name, or asks again, so no second AMI is made.
        log.warn({ err, creationId: id }, 'CreateImage outcome unknown; the tracker will adopt or retry');
        updateCreation(db, id, { message: 'Waiting for EC2 to confirm the image request', updatedAt: clock.now() });
      } finally {
        deps.inFlight.delete(id);
      }
      return publish(id)!;
    },

    get(viewer: Viewer, id: string): CreationRecord | null {
      const record = findCreation(db, id);
      return record && record.owner === viewer.user ? record : null;
    },

    /** A creation id, or an AMI id (source or copy) that a creation produced. */
    status(viewer: Viewer, ref: string): CreationRecord | null {
      const record = findCreation(db, ref) ?? findCreationByAmiId(db, ref);
      return record && record.owner === viewer.user ? record : null;
    },

    list(viewer: Viewer, args: { first?: number | null; after?: string | null; status?: CreationStatus | null }) {
      const first = pageSize(args.first);
      return listCreations(db, { owner: viewer.user, status: args.status ?? null, first, after: args.after ?? null });
    },

    /**
     * Deregister the images made so far, delete their snapshots, end CANCELLED. The cancel is
     * recorded before EC2 is touched, so the tracker stops at once and a crash or an EC2 error
     * part-way only delays the clean-up (the tracker finishes it).
     */
    async cancel(viewer: Viewer, id: string): Promise<CreationRecord> {
      const c = findCreation(db, id);
      if (!c) throw new NotFoundError('CREATION_NOT_FOUND', `No creation ${id}`);
      if (c.owner !== viewer.user) throw new ForbiddenError('FORBIDDEN', `Creation ${id} belongs to another user`);
      const now = clock.now();
      const recorded =
        !isTerminal(c.status) &&
        updateCreation(
          db,
          id,
          {
            status: 'CANCELLED',
            message: 'Cancelling: removing the images made so far',
            estimatedSecondsRemaining: null,
            completedAt: null,
            updatedAt: now,
          },
          c.copies
            .filter((x) => !isTerminal(x.status))
            .map((x) => ({ region: x.region, patch: { status: 'CANCELLED' as const, message: 'Cancelled', completedAt: now } })),
          { onlyIfActive: true },
        );
      if (!recorded) {
        const current = findCreation(db, id)!;
        // A second cancel while the first is still cleaning up answers like the first.
        if (current.status === 'CANCELLED' && current.completedAt === null) return current;
        throw new InvalidStateError('CREATION_FINISHED', `Creation ${id} has already ended (${current.status}); nothing to cancel`);
      }
      const done = await finishCancel(deps, id).catch((err: unknown) => {
        log.warn({ err, creationId: id }, 'cancel clean-up failed; the tracker will retry');
        return false;
      });
      log.info({ creationId: id, cleanedUp: done }, 'cancelled');
      return publish(id)!;
    },

    /** The creation's current state at once, then every change; ends after a terminal status. */
    async *watch(viewer: Viewer, id: string, signal?: AbortSignal): AsyncGenerator<CreationRecord> {
      // Subscribe before reading, so a change between the read and the subscription is not lost.
      const updates = events.subscribe(creationTopic(id), { signal });
      try {
        const current = findCreation(db, id);
        if (!current || current.owner !== viewer.user) {
          throw new NotFoundError('CREATION_NOT_FOUND', `No creation ${id}`);
        }
        yield current;
        if (isTerminal(current.status)) return;
        let lastUpdatedAt = current.updatedAt;
        let lastProgress = current.progress;
        for await (const next of updates) {
          if (next.updatedAt < lastUpdatedAt || next.progress < lastProgress) continue;
          lastUpdatedAt = next.updatedAt;
          lastProgress = next.progress;
          yield next;
          if (isTerminal(next.status)) return;
        }
      } finally {
        await updates.return?.();
      }
    },
  };
}

/** The schema asks services, not the database, whether a status is final. */
export { isTerminal };

export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new ValidationError([{ path: 'first', message: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
  }
  return first;
}
