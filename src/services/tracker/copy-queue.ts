// Responsible for the copies that wait behind EC2's limit of concurrent copies per destination
// region (CopyImage answers ResourceLimitExceeded): one queue per region, served oldest queuedAt
// first. While a region is full no queued copy asks again until a slot frees (one of our copies to
// it ends) or, when none of ours holds the limit, the head probes after a growing wait; new copies
// to a full region join the queue behind the queued ones instead of jumping it.
//
// The state is in memory and rebuilt from the rows (queuedAt is stored): after a restart each
// region's head is tried once, then the queue waits as above. With replicas each tracker knows only
// the copies of the creations whose source region it leases, so its queue is its own.
import type { CopyPatch, CreationRecord } from '../../db/creations.js';
import type { RegionCopyRow } from '../../db/schema.js';
import { retryDelay } from './context.js';
import { imageEnded } from './image-step.js';
import type { Observations } from './observe.js';

/** Why a send to a full region was let through: a slot that freed, or a probe of the limit. */
export type Admission = 'open' | 'slot' | 'probe';

export interface CopyQueues {
  /** A new tick: which of our copies run and which ended since the last one, per region. */
  beginTick(tracked: CreationRecord[], obs: Observations): void;
  /** Whether a copy to the region may send CopyImage now, and why; undefined: it waits in the queue. */
  admit(region: string): Admission | undefined;
  /** EC2 made the copy: it runs, and holds a slot. */
  started(region: string, creationId: string, admission: Admission): void;
  /** EC2 refused the copy for the limit: the region is full until a slot frees or a probe is due. */
  refused(region: string): void;
  /** This service's copies in progress to the region, as far as this tracker knows. */
  inProgress(region: string): number;
  /** What serving the queue did to a copy earlier in this tick, for its creation's step to write. */
  served(region: string, creationId: string): CopyPatch | undefined;
  serve(region: string, creationId: string, patch: CopyPatch): void;
  /** One CopyImage at a time per region, so a refusal is known before the next copy asks. */
  exclusive<T>(region: string, work: () => Promise<T>): Promise<T>;
}

export interface QueuedCopy {
  creation: CreationRecord;
  copy: RegionCopyRow;
}

/** A full region: EC2 refused a copy for the limit, and no probe has succeeded since (or a restart left copies queued). */
interface RegionState {
  /** Refusals while full: each makes the next probe wait longer. */
  refusals: number;
  /** When the head may probe though no slot was seen freeing. */
  probeAt: number;
  /** Sends let through this tick: one per slot seen freeing. */
  slots: number;
  /** A probe may be sent this tick. */
  probe: boolean;
}

/** A copy waiting for CopyImage in its region: requested (the source is available), no image yet. */
export const isWaiting = (c: CreationRecord, copy: RegionCopyRow): boolean =>
  c.stage === 'COPYING' && copy.status === 'PENDING' && copy.amiId === null;

/** The queued copies of each region, oldest queuedAt first (then the oldest creation). */
export function queuedCopies(tracked: CreationRecord[]): Map<string, QueuedCopy[]> {
  const out = new Map<string, QueuedCopy[]>();
  for (const c of tracked) {
    for (const copy of c.copies) {
      if (!isWaiting(c, copy) || copy.queuedAt === null) continue;
      out.set(copy.region, [...(out.get(copy.region) ?? []), { creation: c, copy }]);
    }
  }
  const order = (a: QueuedCopy, b: QueuedCopy) =>
    a.copy.queuedAt! - b.copy.queuedAt! ||
    a.creation.createdAt - b.creation.createdAt ||
    a.creation.id.localeCompare(b.creation.id);
  for (const list of out.values()) list.sort(order);
  return out;
}

/** Per region: our copies still running, those whose image ended this tick, and whether copies are queued. */
function seenCopies(tracked: CreationRecord[], obs: Observations) {
  const running = new Map<string, Set<string>>();
  const ending = new Map<string, Set<string>>();
  const queuedIn = new Set<string>();
  const add = (m: Map<string, Set<string>>, region: string, id: string) => m.set(region, (m.get(region) ?? new Set()).add(id));
  for (const c of tracked) {
    for (const copy of c.copies) {
      if (copy.status === 'IN_PROGRESS' && copy.amiId) {
        const img = obs.images.get(copy.amiId);
        // An image that ended this tick frees its slot now: the next copy goes in the same tick.
        add(img && imageEnded(img) ? ending : running, copy.region, c.id);
      }
      if (isWaiting(c, copy) && copy.queuedAt !== null) queuedIn.add(copy.region);
    }
  }
  return { running, ending, queuedIn };
}

export function createCopyQueues(now: () => number, intervalMs: number): CopyQueues {
  /** The full regions; a region not listed is open. */
  const states = new Map<string, RegionState>();
  /** Our copies in progress per region, as last seen (to notice the ones that ended). */
  const running = new Map<string, Set<string>>();
  const results = new Map<string, CopyPatch>();
  const chains = new Map<string, Promise<unknown>>();
  const key = (region: string, creationId: string) => `${region}|${creationId}`;

  function beginTick(tracked: CreationRecord[], obs: Observations): void {
    results.clear();
    const seen = seenCopies(tracked, obs);
    for (const region of new Set([...running.keys(), ...seen.running.keys(), ...seen.ending.keys(), ...seen.queuedIn])) {
      const still = seen.running.get(region) ?? new Set<string>();
      const freed = new Set([...(running.get(region) ?? []), ...(seen.ending.get(region) ?? [])]);
      for (const id of still) freed.delete(id);
      running.set(region, still);
      let state = states.get(region);
      // Queued copies and no state: a restart. The head is tried once, then the queue waits.
      if (!state && seen.queuedIn.has(region)) states.set(region, (state = newState(0)));
      if (!state) continue;
      state.slots = freed.size;
      // Probe only when none of ours holds the limit (it frees a slot by itself), or on the first try.
      state.probe = freed.size === 0 && now() >= state.probeAt && (still.size === 0 || state.refusals === 0);
    }
  }

  const newState = (refusals: number): RegionState => ({
    refusals,
    probeAt: now() + (refusals ? retryDelay(intervalMs, refusals) : 0),
    slots: 0,
    probe: false,
  });

  return {
    beginTick,
    admit(region) {
      const state = states.get(region);
      if (!state) return 'open';
      if (state.slots > 0) return 'slot';
      return state.probe ? 'probe' : undefined;
    },
    started(region, creationId, admission) {
      running.set(region, (running.get(region) ?? new Set()).add(creationId));
      const state = states.get(region);
      if (!state) return;
      if (admission === 'probe') states.delete(region);
      else if (admission === 'slot') state.slots--;
    },
    refused(region) {
      const refusals = (states.get(region)?.refusals ?? 0) + 1;
      states.set(region, newState(refusals));
    },
    inProgress: (region) => running.get(region)?.size ?? 0,
    served: (region, creationId) => results.get(key(region, creationId)),
    serve: (region, creationId, patch) => void results.set(key(region, creationId), patch),
    exclusive(region, work) {
      const run = (chains.get(region) ?? Promise.resolve()).then(work);
      chains.set(
        region,
        run.catch(() => undefined),
      );
      return run;
    },
  };
}
