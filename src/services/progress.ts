// Responsible for the progress arithmetic of a creation (pure): how much of the work is done,
// what to tell a person about it, and how long the rest should take at the observed rate.
//
// Work units: the source snapshot counts its size in GiB, its encrypted copy (when encrypted) and
// each regional copy its size again, and the image settings and publishing/sharing a small fixed
// share each. Progress is the share of units done, never decreasing.
import type { Ec2Snapshot } from './ec2/types.js';

export interface WorkPlan {
  sizeGiB: number;
  copies: number;
  /** The source image is copied once more in its own region, encrypted. */
  encrypts?: boolean;
  /** Launch permissions to apply at the end (public and/or accounts). */
  publishes: boolean;
  /** Image settings to apply to every image (deprecation, deregistration protection, IMDSv2, SSM). */
  settings?: boolean;
}

export interface WorkDone {
  /** 0..1 */
  source: number;
  /** 0..1, the encrypted copy of the source (counted only when the plan encrypts) */
  encryption?: number;
  /** 0..1 each */
  copies: number[];
  /** 0..1: the share of images whose settings are applied */
  settings?: number;
  /** 0..1 */
  publish: number;
}

/** A few API calls per image: weighed like publishing, a small share beside the snapshots. */
const SMALL_SHARE = 0.02;

const smallStep = (plan: WorkPlan, u: number, wanted: boolean | undefined) => (wanted ? SMALL_SHARE * u * (1 + plan.copies) : 0);

function unit(plan: WorkPlan): number {
  return Math.max(1, plan.sizeGiB);
}

export function totalWork(plan: WorkPlan): number {
  const u = unit(plan);
  return u + (plan.encrypts ? u : 0) + plan.copies * u + smallStep(plan, u, plan.settings) + smallStep(plan, u, plan.publishes);
}

export function workDone(plan: WorkPlan, done: WorkDone): number {
  const u = unit(plan);
  const copies = done.copies.reduce((s, f) => s + clamp01(f), 0);
  const settings = smallStep(plan, u, plan.settings) * clamp01(done.settings ?? 0);
  const publish = smallStep(plan, u, plan.publishes) * clamp01(done.publish);
  const encryption = plan.encrypts ? clamp01(done.encryption ?? 0) * u : 0;
  return clamp01(done.source) * u + encryption + copies * u + settings + publish;
}

/** Percent 0..99 while work remains (100 is reserved for a finished creation), never below `previous`. */
export function percent(plan: WorkPlan, done: WorkDone, previous: number): number {
  // The epsilon absorbs float error (0.63 × 30 / 30 × 100 = 62.99…), so the percent agrees with
  // the "63% complete" a person reads in the message.
  const raw = Math.floor((100 * workDone(plan, done)) / totalWork(plan) + 1e-9);
  return Math.max(previous, Math.min(99, raw));
}

/** Volume-size weighted completion of an image's snapshots (0..1). */
export function snapshotFraction(snapshots: readonly Ec2Snapshot[]): number {
  if (snapshots.length === 0) return 0;
  const weight = (s: Ec2Snapshot) => Math.max(1, s.volumeSizeGiB);
  const total = snapshots.reduce((sum, s) => sum + weight(s), 0);
  const done = snapshots.reduce((sum, s) => sum + weight(s) * (s.state === 'completed' ? 1 : s.progress / 100), 0);
  return clamp01(done / total);
}

/**
 * Seconds remaining at the rate observed since `base`, or null while it cannot be estimated (no
 * measurable work yet, or too little time observed for a rate to mean anything).
 */
export function estimateSecondsRemaining(args: {
  total: number;
  doneNow: number;
  now: number;
  base: { at: number; work: number } | null;
  minObservationMs?: number;
}): number | null {
  const { total, doneNow, now, base } = args;
  if (!base) return null;
  const elapsedMs = now - base.at;
  const progressed = doneNow - base.work;
  if (elapsedMs < (args.minObservationMs ?? 1500) || progressed <= 0) return null;
  const rate = progressed / elapsedMs; // units per ms
  return Math.max(0, Math.ceil((total - doneNow) / rate / 1000));
}

export function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
}
