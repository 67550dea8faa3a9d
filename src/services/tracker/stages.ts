// Responsible for the order of a creation's stages after its source image is available, and for
// which of them a creation passes through: SNAPSHOTTING → ENCRYPTING → COPYING → APPLYING_SETTINGS
// → PUBLISHING → DONE, each optional stage only when the creation asks for its work. Every step
// that ends a stage asks nextStage: the order is the schema's CREATION_STAGES, the rules of each stage are here.
import type { CreationRecord } from '../../db/creations.js';
import { CREATION_STAGES, type CreationStage } from '../../db/schema.js';

type TrackedStage = Exclude<CreationStage, 'VALIDATING'>;
/** The tracker's stages, in the order it runs them: the schema's list after VALIDATING (createAmi's own). */
const ORDER = CREATION_STAGES.filter((s): s is TrackedStage => s !== 'VALIDATING');

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
