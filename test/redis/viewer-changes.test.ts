// The viewer-wide streams across replicas: two apps on one Redis bus (each with its own database and
// simulator, so that only the bus joins them). alice's creation made on replica A, and its AMI
// becoming available, reach alice's amiCreationChanges and amiChanges subscribers on replica B.
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmiChangesDocument,
  AmiCreationChangesDocument,
  CreateAmiDocument,
  type AmiChangesSubscription,
  type AmiCreationChangesSubscription,
} from '../../src/generated/graphql/graphql.js';
import { ownerAmisTopic, ownerCreationsTopic } from '../../src/services/context.js';
import { eventually, startTestApp, withTimeout, type TestApp } from '../support/harness.js';
import { openRaw, type RawConnection } from '../support/raw-ws.js';
import { REDIS_URL, redisFixture } from '../support/redis.js';
import { topicsSubscribed } from '../support/topics.js';

const fixture = redisFixture();
let a: TestApp;
let b: TestApp;
let onB: RawConnection | undefined;

beforeAll(async () => {
  const env = {
    EC2_BACKEND: 'simulator',
    SIMULATOR_SPEED_GIB_PER_SECOND: '8',
    POLL_INTERVAL_MS: '100',
    REDIS_URL,
    REDIS_KEY_PREFIX: fixture.prefix,
  };
  [a, b] = await Promise.all([startTestApp(env, {}, { seededOwner: 'alice' }), startTestApp(env, {}, { seededOwner: 'alice' })]);
});
afterAll(async () => {
  await onB?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await fixture.cleanup();
});

describe('viewer-wide streams across replicas', () => {
  it("tells alice's subscribers on replica B of her creation made on replica A and of its AMI becoming available", async () => {
    onB = await openRaw(b.url, await b.tokenFor('alice'));
    const ready = topicsSubscribed(b.app, ownerCreationsTopic('alice'), ownerAmisTopic('alice'));
    onB.subscribe('creations', print(AmiCreationChangesDocument), {});
    onB.subscribe('amis', print(AmiChangesDocument));
    await withTimeout(ready, 5_000, 'the subscriptions on B');

    const { createAmi } = await a.gql(
      CreateAmiDocument,
      { input: { instance: 'teaching-env', name: 'across' } },
      await a.tokenFor('alice'),
    );
    if (createAmi.__typename !== 'CreateAmiSuccess') throw new Error(createAmi.__typename);
    const id = createAmi.creation.id;

    const next = <T>(op: string, field: string) =>
      onB!.messages
        .filter((m) => m.id === op && m.type === 'next')
        .map((m) => (m.payload as { data: Record<string, T> }).data[field]!);
    type Change = AmiCreationChangesSubscription['amiCreationChanges'];
    type AmiChange = AmiChangesSubscription['amiChanges'];
    const completed = await eventually(
      () => next<Change>('creations', 'amiCreationChanges').find((c) => c.id === id && c.status === 'COMPLETED'),
      30_000,
    );
    expect(next<Change>('creations', 'amiCreationChanges')[0]).toMatchObject({ id, status: 'PENDING' });
    const available = await eventually(
      () => next<AmiChange>('amis', 'amiChanges').find((x) => x.amiId === completed.amiId && x.state === 'AVAILABLE'),
      5_000,
    );
    expect(available.name).toBe('across');
  });
});
