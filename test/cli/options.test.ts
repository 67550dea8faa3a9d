// The create flags of issue 17 (encryption, deprecation, protection, IMDSv2, SSM): how each is read, and the
// createAmi input they make together, without a server.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { createInput, type CreateOptions } from '../../src/cli/commands/creations.js';
import { collectRegionKmsKey, parseDateTime, parseDuration } from '../../src/cli/options.js';

const base: CreateOptions = { name: 'env', reboot: true };
const NOW = Date.parse('2026-12-01T12:00:00.000Z');

describe('--region-kms-key', () => {
  it('splits REGION=KEY at the first "=", keeps ARNs whole and accumulates repeats', () => {
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-1';
    expect(collectRegionKmsKey(`eu-west-1=${arn}`, collectRegionKmsKey('us-west-2=alias/builds'))).toEqual([
      { region: 'us-west-2', kmsKeyId: 'alias/builds' },
      { region: 'eu-west-1', kmsKeyId: arn },
    ]);
  });

  it('refuses a value without a region, without a key or without "="', () => {
    for (const raw of ['alias/builds', '=alias/builds', 'us-west-2=', 'us-west-2= ']) {
      expect(() => collectRegionKmsKey(raw), raw).toThrow(InvalidArgumentError);
    }
  });
});

describe('--deprecate-at', () => {
  it('reads ISO-8601 date-times with or without a zone (UTC without) and a date alone as UTC midnight', () => {
    expect(parseDateTime('2027-06-30T12:00:00Z')).toBe('2027-06-30T12:00:00.000Z');
    expect(parseDateTime('2027-06-30T14:00+02:00')).toBe('2027-06-30T12:00:00.000Z');
    expect(parseDateTime('2027-06-30T12:00')).toBe('2027-06-30T12:00:00.000Z');
    expect(parseDateTime('2027-06-30 12:00:30.5')).toBe('2027-06-30T12:00:30.500Z');
    expect(parseDateTime('2027-06-30')).toBe('2027-06-30T00:00:00.000Z');
  });

  it('refuses what is not a calendar date-time, a day that does not exist included', () => {
    for (const raw of ['tomorrow', '90d', '2027-02-30', '2027-13-01', '2027-06-30T25:00Z', '30/06/2027', '']) {
      expect(() => parseDateTime(raw), raw).toThrow(/expected an ISO-8601 date-time/);
    }
  });
});

describe('--deprecate-in', () => {
  it('reads a whole number with a unit of minutes, hours, days or weeks', () => {
    expect([parseDuration('30m'), parseDuration('36h'), parseDuration('90d'), parseDuration('2W')]).toEqual([
      30 * 60_000,
      36 * 3_600_000,
      90 * 86_400_000,
      14 * 86_400_000,
    ]);
  });

  it('refuses zero, fractions, negative amounts, missing or unknown units', () => {
    for (const raw of ['0d', '1.5d', '-3d', '90', 'd', '3y', '90 days']) {
      expect(() => parseDuration(raw), raw).toThrow(InvalidArgumentError);
    }
  });
});

describe('the createAmi input of the create flags', () => {
  it('asks for no encryption, deprecation, protection, IMDSv2 or SSM parameter when no flag says so', () => {
    const input = createInput('i-1', base, NOW);
    expect(input).not.toHaveProperty('encryption');
    expect(input).toMatchObject({ deprecateAt: undefined, deregistrationProtection: false, requireImdsV2: false });
    expect(input.ssmParameter).toBeUndefined();
  });

  it('--encrypt alone asks for the AWS managed key; --kms-key or --region-kms-key alone imply encryption', () => {
    expect(createInput('i-1', { ...base, encrypt: true }, NOW).encryption).toEqual({ kmsKeyId: undefined, regionKmsKeyIds: [] });
    expect(createInput('i-1', { ...base, kmsKey: 'alias/builds' }, NOW).encryption).toEqual({
      kmsKeyId: 'alias/builds',
      regionKmsKeyIds: [],
    });
    const regionKmsKey = [{ region: 'us-west-2', kmsKeyId: 'alias/w' }];
    expect(createInput('i-1', { ...base, regionKmsKey }, NOW).encryption).toEqual({
      kmsKeyId: undefined,
      regionKmsKeyIds: regionKmsKey,
    });
  });

  it('--deprecate-in counts from now; --deprecate-at is sent as given', () => {
    expect(createInput('i-1', { ...base, deprecateIn: parseDuration('90d') }, NOW).deprecateAt).toBe('2027-03-01T12:00:00.000Z');
    expect(createInput('i-1', { ...base, deprecateAt: '2027-06-30T12:00:00.000Z' }, NOW).deprecateAt).toBe(
      '2027-06-30T12:00:00.000Z',
    );
  });

  it('--protect, --imds-v2 and --ssm-parameter set their fields', () => {
    expect(createInput('i-1', { ...base, protect: true, imdsV2: true, ssmParameter: '/prism/env/latest' }, NOW)).toMatchObject({
      deregistrationProtection: true,
      requireImdsV2: true,
      ssmParameter: '/prism/env/latest',
    });
  });
});
