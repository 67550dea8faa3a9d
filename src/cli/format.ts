// Plain-text renderings of creations and AMIs for people (the fields of the REST API's status answer), readable on a
// terminal and in a log file alike: aligned "Label: value" lines, no colour, no emoji.
import type { AmiFieldsFragment, CreationFieldsFragment, InstancesQuery } from '../generated/graphql/graphql.js';

type Creation = CreationFieldsFragment;
type Cost = Creation['cost'];

/** 45s, 3m 05s, 1h 02m */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** $8.50, $0.60, $0.025: cents, or a tenth of a cent where cents would hide a small amount. */
export function formatUsd(amount: number): string {
  const cents = amount.toFixed(2);
  return amount < 1 && Number(cents) !== Number(amount.toFixed(3)) ? `$${amount.toFixed(3)}` : `$${cents}`;
}

/** "Creating snapshot - 75% complete - 9m 00s elapsed, ~3m 00s remaining" */
export function progressLine(
  c: Pick<Creation, 'message' | 'elapsedSeconds' | 'estimatedSecondsRemaining'>,
  elapsedSeconds = c.elapsedSeconds,
): string {
  const timing = [`${formatDuration(elapsedSeconds)} elapsed`];
  if (c.estimatedSecondsRemaining !== null) timing.push(`~${formatDuration(c.estimatedSecondsRemaining)} remaining`);
  return `${c.message} - ${timing.join(', ')}`;
}

export function statusLine(c: Pick<Creation, 'status' | 'progress' | 'stage'>): string {
  return `${c.status} (${c.progress}% complete, stage ${c.stage})`;
}

type RegionCopy = Creation['regions'][number];

/** "IN_PROGRESS 40%", or "QUEUED" for a copy waiting behind EC2's limit of concurrent copies to its region. */
export function copyState(r: Pick<RegionCopy, 'status' | 'progress' | 'queuedAt'>): string {
  return r.status === 'PENDING' && r.queuedAt ? 'QUEUED' : `${r.status} ${r.progress}%`;
}

export function regionLine(r: RegionCopy): string {
  return [r.region, copyState(r), r.amiId, r.message].filter(Boolean).join('  ');
}

function costLines(cost: Cost): [string, string][] {
  return [
    ['Storage cost', `${formatUsd(cost.storageMonthlyUsd)}/month (${cost.sizeGiB} GiB)`],
    ['Creation cost', formatUsd(cost.creationUsd)],
  ];
}

function block(title: string, rows: [string, string | null | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== null && r[1] !== undefined && r[1] !== '');
  const width = Math.max(...shown.map(([label]) => label.length)) + 1;
  // An empty label continues the previous row (one line per regional copy).
  const pad = (label: string) => (label ? `${label}:`.padEnd(width + 1) : ' '.repeat(width + 1));
  return [title, ...shown.map(([label, value]) => `  ${pad(label)}${value}`)].join('\n');
}

/** The settings a creation asked for, as rows; none when it asked for none. Per-region keys continue the first row. */
function settingsRows(c: Creation): [string, string | null][] {
  const regionKeys = c.encryption?.regionKmsKeyIds ?? [];
  const encryption = c.encryption ? (c.encryption.kmsKeyId ?? 'AWS managed key (alias/aws/ebs)') : null;
  return [
    ['Encryption', encryption],
    ...regionKeys.map((k): [string, string] => ['', `${k.region}  ${k.kmsKeyId}`]),
    ['Deprecates', c.deprecateAt],
    ['Protection', c.deregistrationProtection ? 'deregistration protection on' : null],
    ['IMDSv2', c.requireImdsV2 ? 'required' : null],
    ['SSM parameter', c.ssmParameter],
  ];
}

/** What EC2 reports of an AMI's settings: only those that are on, so that a plain AMI stays short. */
function amiSettingsRows(a: AmiFieldsFragment): [string, string | null][] {
  return [
    ['Encrypted', a.encrypted ? `yes (${a.kmsKeyId ?? 'AWS managed key'})` : null],
    ['Deprecates', a.deprecationTime],
    ['Protected', a.deregistrationProtection ? 'yes (prism-ami protect --off lifts it)' : null],
    ['IMDS', a.imdsSupport === 'v2.0' ? 'IMDSv2 required' : a.imdsSupport],
    ['SSM parameter', a.ssmParameter],
  ];
}

const tagText = (tags: readonly { key: string; value: string }[]) => tags.map((t) => `${t.key}=${t.value}`).join(', ');

export function formatCreation(c: Creation): string {
  const rows: [string, string | null][] = [
    ['Creation ID', c.id],
    ['AMI ID', c.amiId ?? '(not assigned yet)'],
    ['Name', c.name],
    ['Description', c.description],
    ['Template', c.templateName],
    ['Retention', c.retention ? `keep the latest ${c.retention.keepLatest} of the template` : null],
    ['Instance', `${c.instanceId} (${c.sourceRegion})`],
    ['Status', statusLine(c)],
    ['Progress', progressLine(c)],
    ['Failure', c.failureReason],
    ...c.regions.map((r, i): [string, string] => [i === 0 ? 'Copies' : '', regionLine(r)]),
    ['Visibility', c.public ? 'public once available' : 'private'],
    ...settingsRows(c),
    ['Tags', tagText(c.tags)],
    ...costLines(c.cost),
    ['Created', c.createdAt],
    ['Completed', c.completedAt],
  ];
  return block(`AMI creation ${c.id}`, rows);
}

export function formatAmi(a: AmiFieldsFragment & { creation?: { id: string; cost: Cost } | null }, index?: number): string {
  const rows: [string, string | null][] = [
    ['ID', a.amiId],
    ['Name', a.name],
    ['Description', a.description],
    ['Architecture', a.architecture],
    ['Region', a.region],
    ['State', a.deregisteredReason ? `${a.state} (${a.deregisteredReason})` : a.state],
    ['Created', a.createdAt],
    ['Visibility', a.visibility],
    ['Size', a.sizeGiB === null ? null : `${a.sizeGiB} GiB`],
    ['Template', a.templateName],
    ['Publisher', a.publisher],
    ...amiSettingsRows(a),
    ['Tags', tagText(a.tags)],
    ['Creation', a.creation?.id ?? null],
    ...(a.creation ? costLines(a.creation.cost) : []),
  ];
  return block(index === undefined ? `AMI ${a.amiId}` : `AMI ${index}:`, rows);
}

type InstanceNode = InstancesQuery['instances']['edges'][number]['node'];

/** The instance list as an aligned table; the last column says why an instance cannot be captured. */
export function formatInstanceTable(instances: readonly InstanceNode[]): string {
  const header = ['ID', 'NAME', 'STATE', 'SIZE', 'STORAGE/MONTH', 'CAPTURABLE'];
  const rows = instances.map((i) => [
    i.instanceId,
    i.name ?? '-',
    i.state.toLowerCase().replace('_', '-'),
    `${i.sizeGiB} GiB`,
    formatUsd(i.storageMonthlyUsd),
    i.capturable ? 'yes' : `no: ${i.capturableReason ?? 'unknown reason'}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  // The last column is not padded: a long reason runs on without trailing blanks.
  const line = (cells: string[]) => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
