// The CLI's pure parts: text formats, the exit-code policy, argument parsing, and the live bar on a
// (fake) terminal, which the child-process tests cannot give the CLI.
import { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { AmiFieldsFragment, CreationFieldsFragment } from '../../src/generated/graphql/graphql.js';
import { CliError, EXIT } from '../../src/cli/errors.js';
import {
  formatAmi,
  formatCreation,
  formatDuration,
  formatInstanceTable,
  formatUsd,
  progressLine,
  regionLine,
} from '../../src/cli/format.js';
import { collectTag, parseCount, parseInstanceState } from '../../src/cli/options.js';
import { exitCodeForStatus, plainProgressLine, plainView, ttyView } from '../../src/cli/progress.js';
import type { Output } from '../../src/cli/output.js';

const creation = (over: Partial<CreationFieldsFragment> = {}): CreationFieldsFragment => ({
  id: 'c-1',
  name: 'env',
  description: null,
  templateName: null,
  instanceId: 'i-1',
  sourceRegion: 'us-east-1',
  amiId: 'ami-1',
  status: 'IN_PROGRESS',
  stage: 'SNAPSHOTTING',
  progress: 40,
  message: 'Creating snapshot - 40% complete',
  failureReason: null,
  noReboot: false,
  public: false,
  retention: null,
  encryption: null,
  deprecateAt: null,
  deregistrationProtection: false,
  requireImdsV2: false,
  ssmParameter: null,
  tags: [],
  regions: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  completedAt: null,
  elapsedSeconds: 540,
  estimatedSecondsRemaining: 180,
  cost: { storageMonthlyUsd: 8.5, creationUsd: 0.025, sizeGiB: 30 },
  ...over,
});

const ami = (over: Partial<AmiFieldsFragment> = {}): AmiFieldsFragment => ({
  id: 'ami-1',
  amiId: 'ami-1',
  region: 'us-east-1',
  name: 'env',
  description: null,
  architecture: 'x86_64',
  state: 'AVAILABLE',
  visibility: 'PRIVATE',
  createdAt: '2026-01-01T00:00:00.000Z',
  sizeGiB: 30,
  templateName: 'gpu-base',
  publisher: 'tester',
  deregisteredReason: null,
  encrypted: false,
  kmsKeyId: null,
  deprecationTime: null,
  deregistrationProtection: false,
  imdsSupport: null,
  ssmParameter: null,
  tags: [],
  ...over,
});

function captureOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    isTTY: false,
    stdout: process.stdout,
    line: (text) => void lines.push(text),
    json: (value) => void lines.push(JSON.stringify(value)),
    warn: (text) => void lines.push(text),
    error: (text) => void lines.push(text),
  };
}

describe('formats', () => {
  it('durations read as seconds, minutes with seconds, hours with minutes', () => {
    expect([formatDuration(0), formatDuration(45), formatDuration(185), formatDuration(3720)]).toEqual([
      '0s',
      '45s',
      '3m 05s',
      '1h 02m',
    ]);
  });

  it('dollar amounts show cents, and a tenth of a cent only where cents would hide it', () => {
    expect([formatUsd(8.5), formatUsd(0.6), formatUsd(0.025), formatUsd(0), formatUsd(1234.5)]).toEqual([
      '$8.50',
      '$0.60',
      '$0.025',
      '$0.00',
      '$1234.50',
    ]);
  });

  it('the progress line gives the message, elapsed time and the remaining time when known', () => {
    expect(progressLine(creation())).toBe('Creating snapshot - 40% complete - 9m 00s elapsed, ~3m 00s remaining');
    expect(progressLine(creation({ estimatedSecondsRemaining: null }))).toBe('Creating snapshot - 40% complete - 9m 00s elapsed');
  });

  it('a typed server error reads "error CODE: message" with one indented line per field', () => {
    const err = new CliError('Invalid input', {
      code: 'VALIDATION_FAILED',
      details: ['input.name: too short', 'input.tags.0.key: empty'],
    });
    expect(err.format()).toBe('error VALIDATION_FAILED: Invalid input\n  input.name: too short\n  input.tags.0.key: empty');
    expect(new CliError('boom').format()).toBe('error: boom');
  });
});

describe('exit codes', () => {
  it('COMPLETED exits 0, PARTIALLY_COMPLETED 4, FAILED and CANCELLED 1', () => {
    expect(exitCodeForStatus('COMPLETED')).toBe(EXIT.OK);
    expect(exitCodeForStatus('PARTIALLY_COMPLETED')).toBe(4);
    expect(exitCodeForStatus('FAILED')).toBe(1);
    expect(exitCodeForStatus('CANCELLED')).toBe(1);
  });
});

describe('--tag parsing', () => {
  it('splits at the first "=", keeps empty values, and accumulates repeated tags', () => {
    expect(collectTag('b=x=y', collectTag('a='))).toEqual([
      { key: 'a', value: '' },
      { key: 'b', value: 'x=y' },
    ]);
  });

  it('refuses a tag without a key or without "="', () => {
    expect(() => collectTag('novalue')).toThrow(InvalidArgumentError);
    expect(() => collectTag('=v')).toThrow(InvalidArgumentError);
  });
});

describe('progress views', () => {
  it('the plain view prints a line only when something a person sees changed', () => {
    const out = captureOutput();
    const view = plainView(out);
    view.update(creation());
    view.update(creation({ elapsedSeconds: 541, estimatedSecondsRemaining: 179 })); // only the clock moved
    view.update(
      creation({
        progress: 55,
        regions: [{ region: 'us-west-2', amiId: null, status: 'PENDING', progress: 0, message: null, queuedAt: null }],
      }),
    );
    expect(out.lines).toEqual([
      '[ 40%] SNAPSHOTTING      Creating snapshot - 40% complete  (9m 00s elapsed, ~3m 00s remaining)',
      '[ 55%] SNAPSHOTTING      Creating snapshot - 40% complete  (9m 00s elapsed, ~3m 00s remaining)  copies: us-west-2 PENDING 0%',
    ]);
    expect(
      plainProgressLine(creation({ progress: 100, stage: 'DONE', status: 'COMPLETED', estimatedSecondsRemaining: null })),
    ).toMatch(/^\[100%\] DONE/);
  });

  it('on a terminal the bars are redrawn in place: cursor movement, the stage, and one bar per regional copy', async () => {
    let written = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        written += chunk.toString();
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    Object.assign(stream, { isTTY: true, columns: 200 });
    const view = ttyView(stream);
    view.update(creation());
    view.update(
      creation({
        stage: 'COPYING',
        progress: 70,
        message: 'Copying to us-west-2 - 40%',
        regions: [
          { region: 'us-west-2', amiId: 'ami-2', status: 'IN_PROGRESS', progress: 40, message: 'Copying - 40%', queuedAt: null },
        ],
      }),
    );
    await new Promise((r) => setTimeout(r, 250)); // cli-progress redraws on its own timer
    view.stop();
    expect(written).toContain('\u001b['); // cursor control: redrawn in place, not appended
    expect(written).toContain(' 70% | COPYING | Copying to us-west-2 - 40% | 9m 0');
    expect(written).toContain('us-west-2  IN_PROGRESS 40%  ami-2  Copying - 40%');
  });
});

describe("a copy queued behind EC2's limit of concurrent copies", () => {
  const queued = {
    region: 'us-west-2',
    amiId: null,
    status: 'PENDING' as const,
    progress: 0,
    message: 'Queued: 1 copy already in progress to us-west-2',
    queuedAt: '2026-01-01T00:05:00.000Z',
  };

  it('reads QUEUED in the status column of status, watch and the plain progress line', () => {
    expect(regionLine(queued)).toBe('us-west-2  QUEUED  Queued: 1 copy already in progress to us-west-2');
    expect(formatCreation(creation({ stage: 'COPYING', regions: [queued] }))).toContain(
      'Copies:        us-west-2  QUEUED  Queued: 1 copy already in progress to us-west-2',
    );
    expect(plainProgressLine(creation({ stage: 'COPYING', regions: [queued] }))).toMatch(/copies: us-west-2 QUEUED$/);
    // A PENDING copy that never waited is shown as before.
    expect(regionLine({ ...queued, queuedAt: null, message: 'Waiting for the source AMI' })).toBe(
      'us-west-2  PENDING 0%  Waiting for the source AMI',
    );
  });
});

describe('the instance table', () => {
  const node = {
    instanceId: 'i-0123456789abcdef0',
    name: 'lab',
    state: 'RUNNING' as const,
    architecture: 'x86_64',
    region: 'us-east-1',
    sizeGiB: 30,
    owner: 'alice',
    launchedAt: null,
    capturable: true,
    capturableReason: null,
    storageMonthlyUsd: 1.5,
    lastAmi: null,
  };

  it('aligns the columns and says why an instance cannot be captured in the last one', () => {
    const table = formatInstanceTable([
      node,
      {
        ...node,
        instanceId: 'i-1',
        name: null,
        state: 'SHUTTING_DOWN',
        sizeGiB: 8,
        storageMonthlyUsd: 0.4,
        capturable: false,
        capturableReason: 'Instance i-1 is shutting-down',
      },
    ]);
    expect(table.split('\n')).toEqual([
      'ID                   NAME  STATE          SIZE    STORAGE/MONTH  CAPTURABLE',
      'i-0123456789abcdef0  lab   running        30 GiB  $1.50          yes',
      'i-1                  -     shutting-down  8 GiB   $0.40          no: Instance i-1 is shutting-down',
    ]);
  });

  it('reads --state in EC2 spelling or as the enum value, and refuses any other', () => {
    expect(parseInstanceState('shutting-down')).toBe('SHUTTING_DOWN');
    expect(parseInstanceState('Stopped')).toBe('STOPPED');
    expect(() => parseInstanceState('terminated')).toThrow(InvalidArgumentError);
  });
});

describe('retention in the CLI', () => {
  it('shows why the service deregistered an AMI beside its state, and only the state otherwise', () => {
    const reason = "Retired by the retention of template 'gpu-base' (keep latest 2) when ami-3 became available";
    expect(formatAmi(ami({ state: 'DEREGISTERED', deregisteredReason: reason })).split('\n')).toContain(
      `  State:        DEREGISTERED (${reason})`,
    );
    expect(formatAmi(ami()).split('\n')).toContain('  State:        AVAILABLE');
  });

  it("shows a creation's retention, and no line when it has none", () => {
    expect(formatCreation(creation({ templateName: 'gpu-base', retention: { keepLatest: 3 } })).split('\n')).toContain(
      '  Retention:     keep the latest 3 of the template',
    );
    expect(formatCreation(creation())).not.toMatch(/Retention/);
  });

  it('reads --keep-latest as a whole number and refuses anything else', () => {
    expect(parseCount('3')).toBe(3);
    expect(parseCount('0')).toBe(0);
    expect(() => parseCount('two')).toThrow(InvalidArgumentError);
    expect(() => parseCount('2.5')).toThrow(InvalidArgumentError);
    expect(() => parseCount('')).toThrow(InvalidArgumentError);
  });
});

describe('encryption, deprecation, protection, IMDSv2 and SSM in the CLI', () => {
  it("status lists the settings a creation asked for, one line per copy region's key", () => {
    const text = formatCreation(
      creation({
        encryption: { kmsKeyId: 'alias/builds', regionKmsKeyIds: [{ region: 'eu-west-1', kmsKeyId: 'alias/builds-eu' }] },
        deprecateAt: '2027-06-30T12:00:00.000Z',
        deregistrationProtection: true,
        requireImdsV2: true,
        ssmParameter: '/prism/env/latest',
      }),
    ).split('\n');
    expect(text).toEqual(
      expect.arrayContaining([
        '  Encryption:    alias/builds',
        '                 eu-west-1  alias/builds-eu',
        '  Deprecates:    2027-06-30T12:00:00.000Z',
        '  Protection:    deregistration protection on',
        '  IMDSv2:        required',
        '  SSM parameter: /prism/env/latest',
      ]),
    );
  });

  it('status names the AWS managed key when encryption has no key, and shows no setting lines when none was asked for', () => {
    expect(formatCreation(creation({ encryption: { kmsKeyId: null, regionKmsKeyIds: [] } })).split('\n')).toContain(
      '  Encryption:    AWS managed key (alias/aws/ebs)',
    );
    expect(formatCreation(creation())).not.toMatch(/Encryption|Deprecates|Protection|IMDSv2|SSM parameter/);
  });

  it("an AMI's block shows its key, deprecation time, protection, IMDSv2 and SSM parameter, and none of them when off", () => {
    const text = formatAmi(
      ami({
        encrypted: true,
        kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k1',
        deprecationTime: '2027-06-30T12:00:00.000Z',
        deregistrationProtection: true,
        imdsSupport: 'v2.0',
        ssmParameter: '/prism/env/latest',
      }),
    ).split('\n');
    expect(text).toEqual(
      expect.arrayContaining([
        '  Encrypted:     yes (arn:aws:kms:us-east-1:123456789012:key/k1)',
        '  Deprecates:    2027-06-30T12:00:00.000Z',
        '  Protected:     yes (prism-ami protect --off lifts it)',
        '  IMDS:          IMDSv2 required',
        '  SSM parameter: /prism/env/latest',
      ]),
    );
    expect(formatAmi(ami({ encrypted: true })).split('\n')).toContain('  Encrypted:    yes (AWS managed key)');
    expect(formatAmi(ami())).not.toMatch(/Encrypted|Deprecates|Protected|IMDS|SSM/);
  });
});
