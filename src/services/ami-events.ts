// Responsible for the viewer-wide AMI stream (amiChanges): after a write that changes what a user
// sees of an AMI (it became available or failed, was published, shared or deregistered), the AMI's
// full current record goes to its owner's topic. The writers call this once their write has
// committed; the record is read afresh so that a subscriber who missed an event loses nothing.
import { findAmi, type AmiRecord } from '../db/amis.js';
import type { Store } from '../db/store.js';
import { amiUpdates, ownerAmisTopic, type LiveRecord } from './context.js';
import type { EventHub } from './events.js';

export interface AmiEventDeps {
  db: Store;
  events: EventHub<LiveRecord>;
}

/** Tell each AMI's owner its current state (an id no longer known is skipped). */
export async function announceAmis(deps: AmiEventDeps, amiIds: Iterable<string>): Promise<void> {
  for (const amiId of new Set(amiIds)) {
    const ami = await findAmi(deps.db, amiId);
    if (ami) deps.events.publish(ownerAmisTopic(ami.owner), ami);
  }
}

/** The owner's AMI changes from now on; never completes (a stream for the viewer). */
export function ownerAmiChanges(events: EventHub<LiveRecord>, owner: string): AsyncIterableIterator<AmiRecord> {
  return amiUpdates(events, ownerAmisTopic(owner));
}

/**
 * `updates` without the values `keep` refuses. Not an async generator: one awaiting the next value
 * could not return before it arrives, so a subscriber leaving a quiet stream ends `updates` directly.
 */
export function only<T>(updates: AsyncIterableIterator<T>, keep: (value: T) => boolean): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const result = await updates.next();
        if (result.done || keep(result.value)) return result;
      }
    },
    return: () => updates.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (err?: unknown) => updates.throw?.(err) ?? Promise.reject(err instanceof Error ? err : new Error(String(err))),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
