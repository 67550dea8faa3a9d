// Responsible for the order of a creation's stages after its source image is available, and for
// which of them a creation passes through: SNAPSHOTTING → ENCRYPTING → COPYING → APPLYING_SETTINGS
// → PUBLISHING → DONE, each optional stage only when the creation asks for its work. Every step
// that ends a stage asks nextStage, so a stage is added here, in one place.
import type { CreationRecord } from '../../db/creations.js';
import type { CreationStage } from '../../db/schema.js';

/** The tracker's stages, in the order it runs them. */
const ORDER = [
  'SNAPSHOTTING',
  'ENCRYPTING',
  'COPYING',
  'APPLYING_SETTINGS',
  'PUBLISHING',
  'DONE',
] as const satisfies readonly CreationStage[];
type TrackedStage = (typeof ORDER)[number];

/** Whether any of the image settings (deprecation, deregistration protection, IMDSv2, SSM) is asked for. */
export function hasSettings(c: CreationRecord): boolean {
  return c.deprecateAt !== null || c.deregistrationProtection || c.requireImdsV2 || c.ssmParameter !== null;
}

export const publishes = (c: CreationRecord): boolean => c.public || c.shareAccounts.length > 0;

function needed(c: CreationRecord, stage: TrackedStage): boolean {
  switch (stage) {
    case 'ENCRYPTING':
      return c.encrypt;
    case 'COPYING':
      return c.copies.length > 0;
    case 'APPLYING_SETTINGS':
      return hasSettings(c);
    case 'PUBLISHING':
      return publishes(c);
    default:
      return true;
  }
}

/** The stage that follows `after` for this creation; DONE when nothing is left. */
export function nextStage(c: CreationRecord, after: TrackedStage): Exclude<TrackedStage, 'SNAPSHOTTING'> {
  const rest = ORDER.slice(ORDER.indexOf(after) + 1) as Exclude<TrackedStage, 'SNAPSHOTTING'>[];
  return rest.find((s) => needed(c, s)) ?? 'DONE';
}
