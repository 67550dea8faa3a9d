// Small, locale-aware formatting for what the dashboard shows.
import type { AmiCreationStatus } from './generated/graphql.js';

/** 75 → "1 min 15 s"; 3725 → "1 h 2 min". */
export function duration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${s % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export const TERMINAL: ReadonlySet<AmiCreationStatus> = new Set(['COMPLETED', 'PARTIALLY_COMPLETED', 'FAILED', 'CANCELLED']);

export function isTerminal(status: AmiCreationStatus): boolean {
  return TERMINAL.has(status);
}

/** IN_PROGRESS → "in progress". */
export function label(value: string): string {
  return value.toLowerCase().replace(/_/g, ' ');
}

/** "a, b  c" → ["a", "b", "c"]. */
export function words(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** "team=bio, env=prod" → tags; undefined when a pair has no "=" or an empty key. */
export function parseTags(text: string): { key: string; value: string }[] | undefined {
  const tags: { key: string; value: string }[] = [];
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    tags.push({ key: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() });
  }
  return tags;
}

/** A random key for createAmi's idempotencyKey (crypto.randomUUID needs a secure context). */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
