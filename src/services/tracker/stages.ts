// Responsible for the order of a creation's stages after its source image is available, and for
// which of them a creation passes through: SNAPSHOTTING → ENCRYPTING → COPYING → APPLYING_SETTINGS
// → PUBLISHING → DONE, each optional stage only when the creation asks for its work. Every step
// that ends a stage asks nextStage, so a stage is added here, in one place.
import type { CreationPatch, CreationRecord } from '../../db/creations.js';
import type { CreationStage } from '../../db/schema.js';
import { copiesStartingMessage, publishingMessage, settingsMessage } from './messages.js';

const ORDER = ['SNAPSHOTTING', 'ENCRYPTING', 'COPYING', 'APPLYING_SETTINGS', 'PUBLISHING', 'DONE'] as const;

export type TrackedStage = (typeof ORDER)[number];

/** Whether any of the image settings (deprecation, deregistration protection, IMDSv2, SSM) is asked for. */
export function hasSettings(c: CreationRecord): boolean {
  return c.deprecateAt !== null || c.deregistrationProtection || c.requireImdsV2 || c.ssmParameter !== null;
}

export const publishes = (c: CreationRecord): boolean => c.public || c.shareAccounts.length > 0;

/** Whether the creation has work in `stage`. */
function passesThrough(c: CreationRecord, stage: TrackedStage): boolean {
  switch (stage) {
    case 'ENCRYPTING':
      // The encryption step (its own branch of work) turns this on with `c.encrypt`.
      return false;
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
export function nextStage(c: CreationRecord, after: CreationStage): TrackedStage {
  const from = ORDER.indexOf(after as TrackedStage);
  return ORDER.slice(from + 1).find((stage) => passesThrough(c, stage)) ?? 'DONE';
}

/** The patch that enters `stage`: the stage and the sentence a person reads at its start. */
export function enterStage(c: CreationRecord, stage: Exclude<TrackedStage, 'DONE'>): CreationPatch {
  switch (stage) {
    case 'COPYING':
      return { stage, message: copiesStartingMessage(c) };
    case 'APPLYING_SETTINGS':
      return { stage, message: settingsMessage(c) };
    case 'PUBLISHING':
      return { stage, message: publishingMessage(c) };
    default:
      return { stage };
  }
}
