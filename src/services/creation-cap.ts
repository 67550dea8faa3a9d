// Responsible for the per-user cap on active creations (MAX_ACTIVE_CREATIONS_PER_USER), so that one
// user (or a leaked token) cannot fill the source region with snapshots. A user's creations count
// while PENDING or IN_PROGRESS, and so do the ones still being started: parallel requests are
// checked against each other, not only against what the database already holds. Who holds those
// places is CreationReservations: this process by default, or Redis for replicas
// (src/redis/creation-reservations.ts), so that requests on different replicas count together.
import { ForbiddenError } from './errors.js';
import { once } from './once.js';

export type Hold = { ok: true; release(): void } | { ok: false; held: number };

export interface CreationReservations {
  /**
   * Holds one more place for `user` unless `room` places (which may be 0 or less) are already
   * held, atomically; answers the release (a second call does nothing), or how many are held.
   */
  hold(user: string, room: number): Promise<Hold>;
}

export interface AsyncCreationCap {
  /**
   * Holds a place for one more creation of `user`, or refuses with LIMIT_EXCEEDED. Call the
   * returned release once the creation is recorded (it then counts as active) or refused.
   */
  reserve(user: string): Promise<() => void>;
}

export type CreationCap = AsyncCreationCap;

export function createCreationCap(
  countActive: (user: string) => Promise<number>,
  max: number,
  reservations: CreationReservations = createLocalReservations(),
): CreationCap {
  return {
    async reserve(user) {
      const active = await countActive(user);
      const hold = await reservations.hold(user, max - active);
      if (!hold.ok) throw capReached(active + hold.held, max);
      return () => hold.release();
    },
  };
}

/** The places held in this process (one replica, or one process on SQLite). */
export function createLocalReservations(): CreationReservations {
  const starting = new Map<string, number>();
  return {
    hold(user, room) {
      const held = starting.get(user) ?? 0;
      if (held >= room) return Promise.resolve({ ok: false, held });
      starting.set(user, held + 1);
      return Promise.resolve({ ok: true, release: once(() => drop(starting, user)) });
    },
  };
}

function capReached(active: number, max: number): ForbiddenError {
  return new ForbiddenError(
    'LIMIT_EXCEEDED',
    `You have ${active} active AMI creations; the limit is ${max} per user (MAX_ACTIVE_CREATIONS_PER_USER). ` +
      `Wait for one to finish or cancel one (cancelAmiCreation), then try again.`,
  );
}

function drop(starting: Map<string, number>, user: string): void {
  const left = (starting.get(user) ?? 1) - 1;
  if (left > 0) starting.set(user, left);
  else starting.delete(user);
}
