// Responsible for starting AMI creations and answering questions about them: validates the
// request as EC2 would, resolves the instance, records the creation *before* CreateImage (so a
// crash loses nothing), then hands the rest to the progress tracker.
import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import {
  countActiveCreations,
  findCreation,
  findCreationByAmiId,
  findCreationByIdempotencyKey,
  findCreations,
  listCreations,
  pendingCreationWithName,
  type CreationRecord,
} from '../db/creations.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/pagination.js';
import type { CreationStatus } from '../db/schema.js';
import { only } from './ami-events.js';
import { finishCancel } from './cancellation.js';
import { createCreationCap, type CreationCap } from './creation-cap.js';
import { creationTopic, creationUpdates, ownerCreationsTopic, type ServiceDeps } from './context.js';
import { awaitImageConfirmation, beginCancel, discard, hasEnded, isTerminal, record } from './creations/lifecycle.js';
import { keepRequestedImage, sendCreateImage } from './creations/request-image.js';
import { Ec2CallError, isRejection, publicAccessBlockedMessage, toDomainError } from './ec2/errors.js';
import type { Ec2Instance } from './ec2/types.js';
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from './errors.js';
import { inCapturableState, mayCapture } from './instance-access.js';
import { TAG_CREATION_ID } from './system-tags.js';
import { resolveEncryption } from './encryption.js';
import { encryptionContext, INSTANCE_ID_PATTERN, validateCreateAmi, type CreateAmiRequest } from './validation.js';
import type { Viewer } from './viewer.js';

type Log = ServiceDeps['logger'];

export type AmiCreationService = ReturnType<typeof createAmiCreationService>;

export function createAmiCreationService(deps: ServiceDeps) {
  const { db } = deps;
  const log = deps.logger.child({ service: 'ami-creations' });
  const cap = createCreationCap(
    (user) => countActiveCreations(db, user),
    deps.limits.maxActiveCreationsPerUser,
    deps.reservations,
  );
  return {
    async create(viewer: Viewer, input: CreateAmiRequest): Promise<CreationRecord> {
      const existing = await checkInput(deps, viewer, input);
      if (existing) return existing;
      const id = randomUUID();
      try {
        const c = await checkAndRecord(deps, cap, viewer, input, id).catch((err: unknown) =>
          sameKeyWon(deps, viewer, input, err),
        );
        return c.id === id ? await requestImage(deps, log, c) : c;
      } finally {
        deps.inFlight.delete(id);
      }
    },

    async get(viewer: Viewer, id: string): Promise<CreationRecord | null> {
      const record = await findCreation(db, id);
      return record && record.owner === viewer.user ? record : null;
    },

    /**
     * Batches `get` within one tick: a page of AMIs asks for its creations in one query. It keeps no
     * cache (a subscription's context lives across events, which must see the creation as it is now).
     */
    loader(viewer: Viewer): DataLoader<string, CreationRecord | null> {
      return new DataLoader(
        async (ids) => {
          const found = new Map((await findCreations(db, ids)).map((c) => [c.id, c]));
          return ids.map((id) => {
            const c = found.get(id);
            return c && c.owner === viewer.user ? c : null;
          });
        },
        { cache: false },
      );
    },

    /** A creation id, or an AMI id (source or copy) that a creation produced. */
    async status(viewer: Viewer, ref: string): Promise<CreationRecord | null> {
      const record = (await findCreation(db, ref)) ?? (await findCreationByAmiId(db, ref));
      return record && record.owner === viewer.user ? record : null;
    },

    list(viewer: Viewer, args: { first?: number | null; after?: string | null; status?: CreationStatus | null }) {
      const first = pageSize(args.first);
      return listCreations(db, { owner: viewer.user, status: args.status ?? null, first, after: args.after ?? null });
    },

    cancel: (viewer: Viewer, id: string) => cancel(deps, log, viewer, id),
    watch: (viewer: Viewer, id: string) => watch(deps, viewer, id),

    /**
     * Every change of the viewer's own creations from now on (admins too: only their own), new
     * ones included; only those whose status is in `statuses` when given. Never completes.
     */
    changes(viewer: Viewer, statuses?: readonly CreationStatus[] | null): AsyncIterableIterator<CreationRecord> {
      const updates = creationUpdates(deps.events, ownerCreationsTopic(viewer.user));
      if (!statuses) return updates;
      const wanted = new Set(statuses);
      return only(updates, (c) => wanted.has(c.status));
    },
  };
}

interface CheckedRequest {
  instance: Ec2Instance;
  sizeGiB: number;
  wantsPublic: boolean;
}

/** The input as EC2 would check it; or the creation an idempotency key already made (a retry is never refused). */
async function checkInput(deps: ServiceDeps, viewer: Viewer, input: CreateAmiRequest): Promise<CreationRecord | undefined> {
  const { sourceRegion } = deps;
  const knownRegions = await deps.regions.knownRegions();
  const fieldErrors = validateCreateAmi(input, { knownRegions, sourceRegion, now: deps.clock.now() });
  if (fieldErrors.length) throw new ValidationError(fieldErrors);
  return input.idempotencyKey ? findCreationByIdempotencyKey(deps.db, viewer.user, input.idempotencyKey) : undefined;
}

/**
 * Records the creation while holding a place under the user's cap, which is checked before any
 * EC2 call. The place is given back once the row exists (it then counts as active) or on a refusal.
 */
async function checkAndRecord(deps: ServiceDeps, cap: CreationCap, viewer: Viewer, input: CreateAmiRequest, id: string) {
  const release = await cap.reserve(viewer.user);
  try {
    const checked = await checkTarget(deps, viewer, input);
    // The tracker leaves a creation alone while its CreateImage is under way here.
    deps.inFlight.add(id);
    return await recordCreation(deps, viewer, input, checked, id);
  } finally {
    release();
  }
}

/**
 * Everything EC2 would refuse, and an instance the viewer may not capture, refused before anything
 * is recorded. The access decision comes right after the instance is read: a refused request sends
 * EC2 nothing more.
 */
async function checkTarget(deps: ServiceDeps, viewer: Viewer, input: CreateAmiRequest): Promise<CheckedRequest> {
  const wantsPublic = input.public ?? false;
  if (wantsPublic) await checkPublicAllowed(deps);
  const instance = await resolveInstance(deps, input.instance.trim());
  const access = mayCapture(viewer, instance, deps.access);
  if (!access.allowed) throw new ForbiddenError('FORBIDDEN', access.reason);
  assertImageable(instance);
  await checkNameFree(deps, input.name);
  const sizeGiB = await volumeSize(deps, instance, wantsPublic);
  return { instance, sizeGiB, wantsPublic };
}

async function checkPublicAllowed(deps: ServiceDeps): Promise<void> {
  const state = await deps.ec2.getImageBlockPublicAccessState(deps.sourceRegion).catch((err: unknown) => {
    throw toDomainError(err);
  });
  if (state === 'block-new-sharing') {
    throw new ForbiddenError('PUBLIC_ACCESS_BLOCKED', publicAccessBlockedMessage(deps.sourceRegion));
  }
}

function assertImageable(instance: Ec2Instance): void {
  if (!inCapturableState(instance)) {
    throw new InvalidStateError(
      'INSTANCE_STATE_INVALID',
      `Instance ${instance.id} is ${instance.state}; an AMI can be created only from a running or stopped instance. Wait until it is running or stopped and try again.`,
    );
  }
}

/** EC2 still lists a terminated instance for a while; say so rather than that there is none. */
function terminated(instances: Ec2Instance[], ref: string): InvalidStateError {
  const ids = instances.map((i) => i.id).join(', ');
  const what = INSTANCE_ID_PATTERN.test(ref)
    ? `Instance ${ids} is`
    : instances.length === 1
      ? `The only instance named "${ref}" (${ids}) is`
      : `The only instances named "${ref}" (${ids}) are`;
  return new InvalidStateError(
    'INSTANCE_STATE_INVALID',
    `${what} terminated; an AMI can be created only from a running or stopped instance.`,
  );
}

/**
 * An instance id, or the Name tag of exactly one instance that is not terminated. A terminated
 * instance (by id, or the only ones with that name) is INSTANCE_STATE_INVALID, not "not found".
 */
async function resolveInstance(deps: ServiceDeps, ref: string): Promise<Ec2Instance> {
  const { ec2, sourceRegion } = deps;
  if (INSTANCE_ID_PATTERN.test(ref)) {
    const [instance] = await ec2.describeInstances(sourceRegion, { ids: [ref] }).catch((err: unknown) => {
      throw toDomainError(err);
    });
    if (!instance) throw new NotFoundError('INSTANCE_NOT_FOUND', `No instance ${ref} in ${sourceRegion}`);
    if (instance.state === 'terminated') throw terminated([instance], ref);
    return instance;
  }
  const named = await ec2.describeInstances(sourceRegion, { nameTag: ref }).catch((err: unknown) => {
    throw toDomainError(err);
  });
  const candidates = named.filter((i) => i.state !== 'terminated');
  if (candidates.length === 0 && named.length > 0) throw terminated(named, ref);
  if (candidates.length === 0) {
    throw new NotFoundError('INSTANCE_NOT_FOUND', `No instance with id or Name tag "${ref}" in ${sourceRegion}`);
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

/** Names are unique per region: among the creations about to register one, and in EC2. */
async function checkNameFree(deps: ServiceDeps, name: string): Promise<void> {
  const { sourceRegion } = deps;
  const pending = await pendingCreationWithName(deps.db, sourceRegion, name);
  if (pending) {
    throw new ConflictError(
      'AMI_NAME_TAKEN',
      `Creation ${pending.id} is already creating an AMI named "${name}" in ${sourceRegion}`,
    );
  }
  const found = await deps.ec2.findImages(sourceRegion, { name }).catch((err: unknown) => {
    throw toDomainError(err);
  });
  const existing = found.filter((i) => i.state !== 'deregistered');
  if (existing.length > 0) {
    throw new ConflictError(
      'AMI_NAME_TAKEN',
      `An AMI named "${name}" already exists in ${sourceRegion} (${existing[0]!.id}); choose another name or deregister it first`,
    );
  }
}

/** The instance's total volume size; EC2 cannot make an image of encrypted snapshots public. */
async function volumeSize(deps: ServiceDeps, instance: Ec2Instance, wantsPublic: boolean): Promise<number> {
  const volumes = await deps.ec2.describeVolumes(deps.sourceRegion, instance.volumeIds).catch((err: unknown) => {
    throw toDomainError(err);
  });
  if (wantsPublic && volumes.some((v) => v.encrypted)) {
    throw new ValidationError([
      {
        path: 'input.public',
        message: `instance ${instance.id} has encrypted volumes; EC2 cannot make an AMI with encrypted snapshots public. Share it with accounts instead.`,
      },
    ]);
  }
  return volumes.reduce((sum, v) => sum + v.sizeGiB, 0);
}

/** The new creation, or the one an idempotency key made when two retries raced. */
async function recordCreation(deps: ServiceDeps, viewer: Viewer, input: CreateAmiRequest, checked: CheckedRequest, id: string) {
  const { instance } = checked;
  const now = deps.clock.now();
  const label = instance.name && instance.name !== instance.id ? `${instance.id} (${instance.name})` : instance.id;
  const row = {
    id,
    owner: viewer.user,
    idempotencyKey: input.idempotencyKey ?? null,
    name: input.name,
    description: input.description ?? null,
    templateName: input.templateName ?? null,
    instanceId: instance.id,
    sourceRegion: deps.sourceRegion,
    architecture: instance.architecture ?? null,
    status: 'PENDING' as const,
    stage: 'VALIDATING' as const,
    progress: 0,
    message: `Requesting an image of ${label}`,
    noReboot: input.noReboot ?? false,
    public: checked.wantsPublic,
    shareAccounts: [...(input.shareWithAccounts ?? [])],
    sizeGiB: checked.sizeGiB,
    snapshotIds: [],
    imageRequestedAt: now,
    retentionKeepLatest: input.retention?.keepLatest ?? null,
    encrypt: input.encryption != null,
    kmsKeyId: input.encryption?.kmsKeyId ?? null,
    // Resolved once, as validated: each copy region's key, so the tracker never has to decide it.
    regionKmsKeyIds: input.encryption
      ? resolveEncryption(input.encryption, encryptionContext(input, deps.sourceRegion)).regionKeys
      : null,
    deprecateAt: input.deprecateAt?.getTime() ?? null,
    deregistrationProtection: input.deregistrationProtection ?? false,
    requireImdsV2: input.requireImdsV2 ?? false,
    ssmParameter: input.ssmParameter ?? null,
    createdAt: now,
    updatedAt: now,
  };
  const tags = (input.tags ?? []).map((t) => ({ key: t.key, value: t.value }));
  return record(deps, row, tags, [...(input.copyToRegions ?? [])]);
}

/**
 * Retries with the same idempotency key raced (on one replica or several): the unique index let
 * one insert win, and the others answer with its creation. A loser may also have been refused on
 * the way (the winner's pending name, say); the key still decides.
 */
async function sameKeyWon(deps: ServiceDeps, viewer: Viewer, input: CreateAmiRequest, err: unknown): Promise<CreationRecord> {
  if (input.idempotencyKey && (deps.db.isUniqueViolation(err) || err instanceof ConflictError)) {
    const winner = await findCreationByIdempotencyKey(deps.db, viewer.user, input.idempotencyKey);
    if (winner) return winner;
  }
  throw err;
}

/** Send CreateImage and record what EC2 answered: the image, a refusal, or no answer at all. */
async function requestImage(deps: ServiceDeps, log: Log, c: CreationRecord): Promise<CreationRecord> {
  let amiId: string;
  try {
    amiId = await sendCreateImage(deps, c);
  } catch (err) {
    return imageNotConfirmed(deps, log, c, err);
  }
  if (await keepRequestedImage(deps, c, amiId))
    log.info({ creationId: c.id, amiId, instanceId: c.instanceId }, 'CreateImage accepted');
  return (await findCreation(deps.db, c.id))!;
}

async function imageNotConfirmed(deps: ServiceDeps, log: Log, c: CreationRecord, err: unknown): Promise<CreationRecord> {
  if (isRejection(err)) {
    // The name was free a moment ago. A Duplicate now is either another request that won the
    // race, or our own request landing twice (the SDK retried after a lost answer): only the
    // second carries this creation's tag, and then the image is ours to keep.
    if (err instanceof Ec2CallError && err.ec2Code === 'InvalidAMIName.Duplicate') {
      const [ours] = await deps.ec2.findImages(c.sourceRegion, { tag: { key: TAG_CREATION_ID, values: [c.id] } }).catch(() => []);
      if (ours) {
        await keepRequestedImage(deps, c, ours.id);
        return (await findCreation(deps.db, c.id))!;
      }
    }
    // EC2 refused: no image exists, so nothing must remain of this request.
    const refusal = toDomainError(err);
    await discard(deps, c.id, refusal.message);
    throw refusal;
  }
  // The outcome is unknown (network, 5xx, throttled past retries): keep the creation; the
  // tracker adopts the image by its tag or name, or asks again, so no second AMI is made.
  log.warn({ err, creationId: c.id }, 'CreateImage outcome unknown; the tracker will adopt or retry');
  await awaitImageConfirmation(deps, c.id);
  return (await findCreation(deps.db, c.id))!;
}

/**
 * Deregister the images made so far, delete their snapshots, end CANCELLED. The cancel is
 * recorded before EC2 is touched, so the tracker stops at once and a crash or an EC2 error
 * part-way only delays the clean-up (the tracker finishes it).
 */
async function cancel(deps: ServiceDeps, log: Log, viewer: Viewer, id: string): Promise<CreationRecord> {
  const c = await findCreation(deps.db, id);
  if (!c) throw new NotFoundError('CREATION_NOT_FOUND', `No creation ${id}`);
  if (c.owner !== viewer.user) throw new ForbiddenError('FORBIDDEN', `Creation ${id} belongs to another user`);
  if (!(await beginCancel(deps, c))) {
    const current = (await findCreation(deps.db, id))!;
    // A second cancel while the first is still cleaning up answers like the first.
    if (current.status === 'CANCELLED' && current.completedAt === null) return current;
    throw new InvalidStateError('CREATION_FINISHED', `Creation ${id} has already ended (${current.status}); nothing to cancel`);
  }
  const done = await finishCancel(deps, id).catch((err: unknown) => {
    log.warn({ err, creationId: id }, 'cancel clean-up failed; the tracker will retry');
    return false;
  });
  log.info({ creationId: id, cleanedUp: done }, 'cancelled');
  return (await findCreation(deps.db, id))!;
}

/**
 * The creation's current state at once, then every change; ends once the creation has ended, or at
 * once when the subscriber leaves: an async generator awaiting the next update cannot return until
 * one arrives (for a stalled creation, never), so leaving ends the updates first.
 */
function watch(deps: ServiceDeps, viewer: Viewer, id: string): AsyncIterableIterator<CreationRecord> {
  // Subscribe before reading, so a change between the read and the subscription is not lost.
  const updates = creationUpdates(deps.events, creationTopic(id));
  const records = follow(deps, viewer, id, updates);
  const iterator: AsyncIterableIterator<CreationRecord> = {
    next: () => records.next(),
    async return() {
      await updates.return?.();
      return records.return(undefined);
    },
    async throw(err?: unknown) {
      await updates.return?.();
      return records.throw(err);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

async function* follow(
  deps: ServiceDeps,
  viewer: Viewer,
  id: string,
  updates: AsyncIterableIterator<CreationRecord>,
): AsyncGenerator<CreationRecord> {
  try {
    const current = await findCreation(deps.db, id);
    if (!current || current.owner !== viewer.user) {
      throw new NotFoundError('CREATION_NOT_FOUND', `No creation ${id}`);
    }
    yield current;
    if (hasEnded(current)) return;
    let lastUpdatedAt = current.updatedAt;
    let lastProgress = current.progress;
    for await (const next of updates) {
      if (next.updatedAt < lastUpdatedAt || next.progress < lastProgress) continue;
      lastUpdatedAt = next.updatedAt;
      lastProgress = next.progress;
      yield next;
      if (hasEnded(next)) return;
    }
  } finally {
    await updates.return?.();
  }
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
