// Responsible for ending a creation from the tracker: completed (fully or with failed copies),
// failed with the reason EC2 gave, or timed out after the limit (at least 2 hours).
import type { CreationRecord } from '../../db/creations.js';
import { isTerminal } from '../../db/schema.js';
import { finish, type CopyChange } from '../creations/lifecycle.js';
import type { TrackerContext } from './context.js';
import { availableMessage, copyTimedOutMessage, failedMessage, hours, timedOutReason } from './messages.js';
import type { Observations } from './observe.js';
import { applyRetention } from './retention.js';

export async function fail(ctx: TrackerContext, c: CreationRecord, reason: string, copies: CopyChange[] = []): Promise<void> {
  await finish(ctx.deps, c, { status: 'FAILED', message: failedMessage(reason), failureReason: reason, copies });
}

/**
 * COMPLETED, or PARTIALLY_COMPLETED when a copy failed; `problems` are what publishing could not do
 * (after what the settings could not, already in failureReason),
 * `copies` the copies' last changes (already merged into `c`). The creation's retention runs first
 * (only here: a failed or cancelled creation retires nothing); its rows change with the ending.
 */
export async function complete(
  ctx: TrackerContext,
  c: CreationRecord,
  problems: string[] = [],
  copies: CopyChange[] = [],
): Promise<void> {
  const status = c.copies.some((x) => x.status === 'FAILED') ? 'PARTIALLY_COMPLETED' : 'COMPLETED';
  // An active creation's failureReason holds what an earlier stage could not do (a refused setting).
  problems = [...(c.failureReason ? [c.failureReason] : []), ...problems];
  const retention = await applyRetention(ctx, c, copies);
  const message = [availableMessage(c), ...problems, ...(retention.summary ? [retention.summary] : [])].join('; ');
  await finish(ctx.deps, c, {
    status,
    message,
    ...(problems.length ? { failureReason: problems.join('; ') } : {}),
    copies,
    amis: retention.amis,
  });
}

/** Whether this tick saw every region the creation is waiting on (needed before timing it out). */
export function observedAll(c: CreationRecord, obs: Observations): boolean {
  if (c.stage === 'SNAPSHOTTING' || c.stage === 'ENCRYPTING') return !obs.unavailable.has(c.sourceRegion);
  if (c.stage === 'COPYING') return c.copies.every((x) => x.status !== 'IN_PROGRESS' || !obs.unavailable.has(x.region));
  return true;
}

/**
 * Give up after the limit: judged only after this tick's observation, so a creation that
 * finished while the server was down completes instead of timing out.
 */
export async function timeOut(ctx: TrackerContext, c: CreationRecord): Promise<void> {
  const now = ctx.deps.clock.now();
  const { maxDurationMs } = ctx.settings;
  const copies = c.copies
    .filter((x) => !isTerminal(x.status))
    .map((x) => ({
      region: x.region,
      patch: {
        status: 'FAILED' as const,
        message: copyTimedOutMessage(x, maxDurationMs),
        failureReason: `did not finish within ${hours(maxDurationMs)}`,
        completedAt: now,
      },
    }));
  await fail(ctx, c, timedOutReason(c, maxDurationMs), copies);
}
