// Responsible for the per-user cap on active creations (MAX_ACTIVE_CREATIONS_PER_USER), so that one
// user (or a leaked token) cannot fill the source region with snapshots. A user's creations count
// while PENDING or IN_PROGRESS, and so do the ones this process is still starting: parallel requests
// are checked against each other, not only against what the database already holds.
import { ForbiddenError } from './errors.js';

export type CreationCap = ReturnType<typeof createCreationCap>;

export function createCreationCap(countActive: (user: string) => Promise<number>, max: number) {
  const starting = new Map<string, number>();
  return {
    /**
     * Holds a place for one more creation of `user`, or refuses with LIMIT_EXCEEDED. Call the
     * returned release once the creation is recorded (it then counts as active) or refused.
     */
    async reserve(user: string): Promise<() => void> {
      const active = (await countActive(user)) + (starting.get(user) ?? 0);
      if (active >= max) {
        throw new ForbiddenError(
          'LIMIT_EXCEEDED',
          `You have ${active} active AMI creations; the limit is ${max} per user (MAX_ACTIVE_CREATIONS_PER_USER). ` +
            `Wait for one to finish or cancel one (cancelAmiCreation), then try again.`,
        );
      }
      starting.set(user, (starting.get(user) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (starting.get(user) ?? 1) - 1;
        if (left > 0) starting.set(user, left);
        else starting.delete(user);
      };
    },
  };
}
