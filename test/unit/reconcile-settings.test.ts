// The reconciler carries the image settings EC2 reports onto the AMI rows: protection, deprecation
// and IMDSv2 changed outside prism-ami (the console, the AWS CLI) show in the AMI list.
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/services/reconciler.js';
import { createUnitHarness, T0, type UnitHarness } from '../support/unit-harness.js';

let h: UnitHarness;

afterEach(() => h?.close());

describe('reconciling image settings', () => {
  it('records protection, deprecation and IMDSv2 set outside the service, and protection lifted outside it', async () => {
    h = await createUnitHarness();
    const c = await h.create({ name: 'changed by hand', deregistrationProtection: true });
    h.fake.complete(c.amiId!);
    await h.tick();
    expect(await h.ami(c.amiId!)).toMatchObject({ state: 'AVAILABLE', deregistrationProtection: true, imdsSupport: null });

    const at = T0 + 30 * 86_400_000;
    await h.fake.disableDeregistrationProtection('us-east-1', c.amiId!);
    await h.fake.enableImageDeprecation('us-east-1', c.amiId!, at);
    await h.fake.setImdsSupport('us-east-1', c.amiId!);
    const report = await createReconciler(h.deps, { intervalMs: 1000 }).runOnce();

    expect(report.changed).toEqual([]);
    expect(await h.ami(c.amiId!)).toMatchObject({
      state: 'AVAILABLE',
      deregistrationProtection: false,
      deprecationTime: at,
      imdsSupport: 'v2.0',
    });
  });
});
