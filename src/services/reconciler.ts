// Responsible for keeping the AMI list true to EC2 for the AMIs the tracker no longer watches: per
// region one DescribeImages (image-id filter, chunks of 1000) for every AMI the database thinks
// exists, marking those deregistered outside the service as DEREGISTERED and picking up state
// changes (pending → available after a restart, failed), and the image settings changed outside
// it (deregistration protection, deprecation, IMDSv2 in the console). It changes `amis` rows only;
// creations are the tracker's, so nothing is published.
import { updateAmi, type AmiPatch } from '../db/amis.js';
import { amisToReconcile } from '../db/creations.js';
import type { AmiRow, AmiState } from '../db/schema.js';
import type { ServiceDeps } from './context.js';
import { announceAmis } from './ami-events.js';
import type { Ec2Image } from './ec2/types.js';
import { createPeriodic } from './periodic.js';
import { everyRegion, type RegionLeases } from './region-leases.js';

export interface ReconcilerOptions {
  intervalMs: number;
  /** A PENDING AMI recorded less than this long ago may not be listed yet (eventual consistency). */
  notVisibleGraceMs?: number;
  /** Which regions this replica reconciles (with replicas, one holds each region); default all. */
  leases?: RegionLeases;
}

export interface ReconcileReport {
  checked: number;
  regions: number;
  ec2Calls: number;
  changed: { amiId: string; from: AmiState; to: AmiState }[];
  failedRegions: string[];
}

export type Reconciler = ReturnType<typeof createReconciler>;

const MAX_IDS_PER_CALL = 1000;

function stateOf(image: Ec2Image): AmiState {
  if (image.state === 'available') return 'AVAILABLE';
  if (image.state === 'deregistered') return 'DEREGISTERED';
  if (['failed', 'error', 'invalid'].includes(image.state)) return 'FAILED';
  return 'PENDING';
}

/** The settings EC2 reports that the row does not hold (changed in the console or by another tool). */
function changedSettings(row: AmiRow, image: Ec2Image): AmiPatch {
  const listed = {
    deregistrationProtection: image.deregistrationProtection,
    deprecationTime: image.deprecationTime ? Date.parse(image.deprecationTime) : null,
    imdsSupport: image.imdsSupport ?? null,
  };
  const patch: AmiPatch = {};
  if (listed.deregistrationProtection !== row.deregistrationProtection)
    patch.deregistrationProtection = listed.deregistrationProtection;
  // EC2 keeps the deprecation time to the minute: a row within the same minute agrees with it.
  if (Math.floor((listed.deprecationTime ?? 0) / 60_000) !== Math.floor((row.deprecationTime ?? 0) / 60_000)) {
    patch.deprecationTime = listed.deprecationTime;
  }
  if (listed.imdsSupport !== row.imdsSupport) patch.imdsSupport = listed.imdsSupport;
  return patch;
}

export function createReconciler(deps: ServiceDeps, options: ReconcilerOptions) {
  const { db, ec2, clock } = deps;
  const log = deps.logger.child({ service: 'reconciler' });
  const graceMs = options.notVisibleGraceMs ?? 5 * 60 * 1000;
  const leases = options.leases ?? everyRegion();

  async function reconcile(): Promise<ReconcileReport> {
    const rows = await amisToReconcile(db);
    const byRegion = new Map<string, typeof rows>();
    for (const row of rows) byRegion.set(row.region, [...(byRegion.get(row.region) ?? []), row]);
    // Another replica reconciles the regions this one does not hold.
    for (const region of byRegion.keys()) if (!(await leases.holds(region))) byRegion.delete(region);
    const checked = [...byRegion.values()].reduce((n, list) => n + list.length, 0);
    const report: ReconcileReport = { checked, regions: byRegion.size, ec2Calls: 0, changed: [], failedRegions: [] };
    for (const [region, list] of byRegion) {
      let images: Map<string, Ec2Image>;
      try {
        // The gateway sends one DescribeImages per 1000 ids.
        const found = await ec2.findImages(region, { ids: list.map((r) => r.amiId) });
        report.ec2Calls += Math.ceil(list.length / MAX_IDS_PER_CALL);
        images = new Map(found.map((i) => [i.id, i]));
      } catch (err) {
        report.failedRegions.push(region);
        log.warn({ err, region, amis: list.length }, 'reconciliation skipped a region; will retry next run');
        continue;
      }
      const now = clock.now();
      for (const row of list) {
        const image = images.get(row.amiId);
        let to: AmiState;
        if (image) to = stateOf(image);
        // A PENDING row may not be listed yet right after CreateImage/CopyImage; one seen before is gone.
        else if (row.state !== 'PENDING' || now - row.createdAt > graceMs) to = 'DEREGISTERED';
        else continue;
        const settings = image ? changedSettings(row, image) : {};
        if (to === row.state) {
          if (Object.keys(settings).length) await updateAmi(db, row.amiId, { ...settings, updatedAt: now });
          continue;
        }
        await updateAmi(db, row.amiId, {
          ...settings,
          state: to,
          ...(to === 'DEREGISTERED' ? { visibility: 'PRIVATE' as const } : {}),
          updatedAt: now,
        });
        report.changed.push({ amiId: row.amiId, from: row.state, to });
        await announceAmis(deps, [row.amiId]);
      }
    }
    if (report.changed.length) log.info({ changed: report.changed }, 'AMI states reconciled with EC2');
    return report;
  }

  // The first run is at once, so state changes while the server was down show up.
  const loop = createPeriodic({ intervalMs: options.intervalMs, run: reconcile, log, failure: 'reconciliation failed' });
  return { start: loop.start, stop: loop.stop, runOnce: loop.runOnce };
}
