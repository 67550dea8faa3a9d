import { describe, expect, it } from 'vitest';
import { estimateCost, snapshotStoragePrice, transferPrice } from '../../src/services/costs.js';
import { estimateSecondsRemaining, percent, snapshotFraction, totalWork, workDone } from '../../src/services/progress.js';

describe('cost estimates', () => {
  it('charges snapshot storage at the full size in the source region (us-east-1: $0.05/GiB-month)', () => {
    expect(estimateCost(30, 'us-east-1', [])).toEqual({ storageMonthlyUsd: 1.5, creationUsd: 0, sizeGiB: 30 });
  });

  it("adds each copy region's storage price and the inter-region transfer per copy", () => {
    const cost = estimateCost(100, 'us-east-1', ['us-west-2', 'eu-central-1']);
    expect(cost.storageMonthlyUsd).toBeCloseTo(100 * (0.05 + 0.05 + 0.054), 6);
    expect(cost.creationUsd).toBeCloseTo(2 * 100 * 0.02, 6);
  });

  it('uses the source region for the transfer price and us-east-1 prices for regions missing from the table', () => {
    expect(transferPrice('sa-east-1')).toBe(0.138);
    expect(transferPrice('eu-west-1')).toBe(0.02);
    expect(snapshotStoragePrice('xx-nowhere-9')).toBe(0.05);
    expect(estimateCost(10, 'sa-east-1', ['us-east-1']).creationUsd).toBeCloseTo(1.38, 6);
  });
});

describe('progress arithmetic', () => {
  const snap = (progress: number, size: number, state = 'pending') => ({
    id: 's',
    state,
    progress,
    volumeSizeGiB: size,
    stateMessage: undefined,
  });

  it('weights snapshot progress by volume size', () => {
    expect(snapshotFraction([snap(100, 50, 'completed'), snap(0, 150)])).toBeCloseTo(0.25, 6);
    expect(snapshotFraction([snap(50, 10), snap(50, 30)])).toBeCloseTo(0.5, 6);
    expect(snapshotFraction([])).toBe(0);
  });

  it('counts the source, each copy and publishing as shares of the work', () => {
    const plan = { sizeGiB: 10, copies: 2, publishes: true };
    expect(totalWork(plan)).toBeCloseTo(10 + 20 + 0.6, 6);
    expect(workDone(plan, { source: 1, copies: [0.5, 0], publish: 0 })).toBeCloseTo(15, 6);
    expect(percent(plan, { source: 1, copies: [0.5, 0], publish: 0 }, 0)).toBe(49);
  });

  it('counts the image settings as a share of their own, beside publishing', () => {
    const plan = { sizeGiB: 10, copies: 1, publishes: true, settings: true };
    expect(totalWork(plan)).toBeCloseTo(10 + 10 + 0.4 + 0.4, 6);
    expect(workDone(plan, { source: 1, copies: [1], settings: 0.5, publish: 0 })).toBeCloseTo(20.2, 6);
    expect(workDone({ ...plan, settings: false }, { source: 1, copies: [1], settings: 1, publish: 0 })).toBeCloseTo(20, 6);
  });

  it('never decreases and stays below 100 until the creation is done', () => {
    const plan = { sizeGiB: 10, copies: 0, publishes: false };
    expect(percent(plan, { source: 0.2, copies: [], publish: 0 }, 35)).toBe(35);
    expect(percent(plan, { source: 1, copies: [], publish: 0 }, 0)).toBe(99);
  });

  it('estimates the time remaining from the observed rate, and only once a rate exists', () => {
    const base = { at: 0, work: 0 };
    expect(estimateSecondsRemaining({ total: 100, doneNow: 25, now: 10_000, base })).toBe(30);
    expect(estimateSecondsRemaining({ total: 100, doneNow: 25, now: 10_000, base: null })).toBeNull();
    expect(estimateSecondsRemaining({ total: 100, doneNow: 0, now: 10_000, base })).toBeNull();
    expect(estimateSecondsRemaining({ total: 100, doneNow: 5, now: 500, base })).toBeNull();
  });
});

describe('percent agrees with the snapshot percent a person reads', () => {
  it.each([3, 6, 12, 24, 29, 63])('reports %i%% for a single 30 GiB snapshot at that percent', (p) => {
    const plan = { sizeGiB: 30, copies: 0, publishes: false };
    const fraction = snapshotFraction([{ id: 's', state: 'pending', progress: p, volumeSizeGiB: 30, stateMessage: undefined }]);
    expect(percent(plan, { source: fraction, copies: [], publish: 0 }, 0)).toBe(p);
  });
});
