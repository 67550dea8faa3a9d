// Responsible for the order of a creation's stages: which step comes after the one just finished,
// skipping those the creation does not need (no encryption, no copies, nothing to publish).
import type { CreationRecord } from '../../db/creations.js';
import type { CreationStage } from '../../db/schema.js';
import { plan } from './estimate.js';

/** The tracker's stages, in the order it runs them. */
const ORDER = ['SNAPSHOTTING', 'ENCRYPTING', 'COPYING', 'PUBLISHING', 'DONE'] as const satisfies readonly CreationStage[];
type TrackedStage = (typeof ORDER)[number];

function needed(c: CreationRecord, stage: TrackedStage): boolean {
  switch (stage) {
    case 'ENCRYPTING':
      return c.encrypt;
    case 'COPYING':
      return c.copies.length > 0;
    case 'PUBLISHING':
      return plan(c).publishes;
    default:
      return true;
  }
}

/** The stage that follows `after` for this creation; DONE when nothing is left. */
export function nextStage(c: CreationRecord, after: TrackedStage): Exclude<TrackedStage, 'SNAPSHOTTING'> {
  const rest = ORDER.slice(ORDER.indexOf(after) + 1) as Exclude<TrackedStage, 'SNAPSHOTTING'>[];
  return rest.find((s) => needed(c, s)) ?? 'DONE';
}
