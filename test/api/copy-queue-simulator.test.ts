// Copies queued behind EC2's limit of concurrent copies, end to end on the built-in simulator with
// the limit set to 1 (SIMULATOR_MAX_CONCURRENT_COPIES): of two creations copying to the same region,
// one copy waits PENDING "Queued: 1 copy already in progress to us-west-2" until the other's copy
// completes, and both creations complete. moto has no copy limit (its CopyImage never answers
// ResourceLimitExceeded), so there is no moto test of the queue.
import { afterEach, describe, expect, it } from 'vitest';
import { AmiProgressDocument, CreateAmiDocument } from '../../src/generated/graphql/graphql.js';
import { collectOverWebSocket, startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('copies queued behind the limit of concurrent copies on the simulator', () => {
  it("queues the second creation's copy while the first copies, then completes both", async () => {
    t = await startTestApp({
      EC2_BACKEND: 'simulator',
      POLL_INTERVAL_MS: '150',
      SIMULATOR_SPEED_GIB_PER_SECOND: '8',
      SIMULATOR_MAX_CONCURRENT_COPIES: '1',
    });
    const ids: string[] = [];
    for (const name of ['queue first', 'queue second']) {
      const res = await t.gql(CreateAmiDocument, { input: { instance: 'teaching-env', name, copyToRegions: ['us-west-2'] } });
      if (res.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(res.createAmi.__typename);
      ids.push(res.createAmi.creation.id);
    }
    const app = t;
    const histories = await Promise.all(
      ids.map(async (id) =>
        (await collectOverWebSocket(app.url, AmiProgressDocument, { id }, { timeoutMs: 30_000 })).map((e) => e.amiProgress),
      ),
    );

    for (const events of histories) expect(events.at(-1)).toMatchObject({ status: 'COMPLETED', stage: 'DONE' });
    const queuedIn = histories.map((events) =>
      events.filter((e) => e.regions[0]!.status === 'PENDING' && e.regions[0]!.queuedAt !== null),
    );
    // Exactly one of the two waited: the other held the only slot.
    const waited = queuedIn.filter((q) => q.length > 0);
    expect(waited).toHaveLength(1);
    const queued = waited[0]!;
    expect(queued[0]!.regions[0]).toMatchObject({
      region: 'us-west-2',
      amiId: null,
      progress: 0,
      message: 'Queued: 1 copy already in progress to us-west-2',
    });
    // The creation's own message says so once the tick that queued the copy has written it.
    expect(queued.map((e) => e.message)).toContain('Copying to us-west-2 (queued)');
    const last = histories[queuedIn.indexOf(queued)]!.at(-1)!;
    expect(last.regions[0]).toMatchObject({ status: 'COMPLETED', progress: 100 });
    expect(last.regions[0]!.queuedAt).toBe(queued[0]!.regions[0]!.queuedAt);
    for (const events of histories) {
      const progress = events.map((e) => e.progress);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    }
  });
});
