// The instance list's decisions on the in-memory gateway: the EC2 filters it sends, how it maps a
// GraphQL page onto EC2's pages (including the empty pages EC2 may answer under filters), and what
// a page costs in EC2 requests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ec2Gateway } from '../../src/services/ec2/types.js';
import { createInstanceService } from '../../src/services/instances.js';
import { createUnitHarness, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;
beforeEach(async () => {
  h = await createUnitHarness();
});
afterEach(() => h.close());

const owned = (user: string) => [{ key: 'prism:owner', value: user }];

describe('instance list', () => {
  it('sends the owner tag, every state but terminated and the Name tag as EC2 filters, wildcards in the text escaped', async () => {
    h.fake.addInstance({ name: 'a*b', tags: owned('tester') });
    const mark = h.fake.calls.length;
    const page = await h.services.instances.list(h.viewer, { filter: { nameContains: 'a*b' } });
    expect(page.edges.map((e) => e.node.name)).toEqual(['a*b']);
    const [call] = h.fake.callsSince(mark).filter((c) => c.action === 'DescribeInstances');
    expect(call?.args).toMatchObject({
      filters: [
        { name: 'instance-state-name', values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
        { name: 'tag:prism:owner', values: ['tester'] },
        { name: 'tag:Name', values: ['*a\\*b*'] },
      ],
      maxResults: 20,
    });
  });

  it('sends no owner filter for an admin, and asks EC2 for at least 5 (its minimum) when first is smaller', async () => {
    h.fake.addInstance({ tags: owned('someone') });
    const mark = h.fake.calls.length;
    const page = await h.services.instances.list({ user: 'root', admin: true }, { first: 1 });
    expect(page.edges).toHaveLength(1);
    const [call] = h.fake.callsSince(mark).filter((c) => c.action === 'DescribeInstances');
    expect(call?.args).toMatchObject({ maxResults: 5 });
    expect((call?.args as { filters: { name: string }[] }).filters.map((f) => f.name)).toEqual(['instance-state-name']);
  });

  it('costs one DescribeInstances and one DescribeVolumes for a page of 100 instances with 3 volumes each', async () => {
    for (let i = 0; i < 120; i++) h.fake.addInstance({ volumesGiB: [8, 16, 32], tags: owned('tester') });
    const mark = h.fake.calls.length;
    const page = await h.services.instances.list(h.viewer, { first: 100 });
    expect(page.edges).toHaveLength(100);
    expect(page.edges.every((e) => e.node.sizeGiB === 56)).toBe(true);
    expect(h.fake.callsSince(mark).map((c) => c.action)).toEqual(['DescribeInstances', 'DescribeVolumes']);
  });

  it('follows an EC2 page that comes back empty with a NextToken, so that a page is empty only at the end', async () => {
    const id = h.fake.addInstance({ tags: owned('tester') });
    let answered = 0;
    const ec2: Ec2Gateway = {
      ...h.fake,
      // EC2 may answer a filtered page with nothing in it but the token of the next.
      listInstances: async (region, query) =>
        answered++ === 0 ? { instances: [], nextToken: 'i-0' } : h.fake.listInstances(region, query),
    };
    const page = await createInstanceService({ ...h.deps, ec2 }).list(h.viewer, {});
    expect(page.edges.map((e) => e.node.instanceId)).toEqual([id]);
    expect(page.hasNextPage).toBe(false);
    expect(answered).toBe(2);
  });

  it('marks a pending instance not capturable with the reason, and a running one capturable', async () => {
    const pending = h.fake.addInstance({ state: 'pending', tags: owned('tester') });
    const running = h.fake.addInstance({ state: 'running', tags: owned('tester') });
    const nodes = new Map((await h.services.instances.list(h.viewer, {})).edges.map((e) => [e.node.instanceId, e.node]));
    expect(nodes.get(pending)).toMatchObject({ state: 'PENDING', capturable: false });
    expect(nodes.get(pending)?.capturableReason).toMatch(/is pending/);
    expect(nodes.get(running)).toMatchObject({ state: 'RUNNING', capturable: true, capturableReason: undefined });
  });
});
