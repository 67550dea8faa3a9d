// createAmi's deprecateAt and ssmParameter, refused as EC2 and SSM would refuse them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS } from '../../src/services/regions.js';
import { validateCreateAmi, validateSsmParameterName } from '../../src/services/validation.js';

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);
const ctx = { knownRegions: new Set<string>(DEFAULT_REGIONS), sourceRegion: 'us-east-1', now: NOW };
const errors = (input: Partial<Parameters<typeof validateCreateAmi>[0]>) =>
  validateCreateAmi({ instance: 'demo-workstation', name: 'my env', ...input }, ctx);

describe('deprecateAt', () => {
  it.each([
    ['two minutes ahead', NOW + 120_000],
    ['90 days ahead', NOW + 90 * 86_400_000],
    ['exactly 10 years ahead', Date.UTC(2036, 0, 5, 9, 0, 0)],
  ])('accepts a time %s', (_label, at) => {
    expect(errors({ deprecateAt: new Date(at) })).toEqual([]);
  });

  it('refuses a time in the past, naming the time given and now', () => {
    expect(errors({ deprecateAt: new Date(Date.UTC(2025, 11, 31)) })).toEqual([
      {
        path: 'input.deprecateAt',
        message:
          '2025-12-31T00:00:00.000Z is in the past or less than a minute ahead (now is 2026-01-05T09:00:00.000Z); give a time in the future',
      },
    ]);
  });

  it('refuses a time less than a minute ahead', () => {
    expect(errors({ deprecateAt: new Date(NOW + 30_000) }).map((e) => e.path)).toEqual(['input.deprecateAt']);
  });

  it("refuses a time more than 10 years ahead, EC2's limit", () => {
    const [error] = errors({ deprecateAt: new Date(Date.UTC(2036, 0, 5, 9, 1, 0)) });
    expect(error?.path).toBe('input.deprecateAt');
    expect(error?.message).toContain('more than 10 years ahead (now is 2026-01-05T09:00:00.000Z)');
  });
});

describe('ssmParameter names as SSM checks them', () => {
  it.each([
    'my-env-latest',
    '/images/my-env/latest',
    'golden_image.v2',
    '/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o',
    '/prism/awsome', // only the first level is reserved by prefix, and this one is "prism"
    'x'.repeat(961),
  ])('accepts %j', (name) => {
    expect(validateSsmParameterName(name)).toBeUndefined();
    expect(errors({ ssmParameter: name })).toEqual([]);
  });

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(962), /at most 961 characters long \(got 962\)/],
    ['my env', /spaces/],
    ['images/latest', /must start with \//],
    ['/images//latest', /empty level/],
    ['/images/latest/', /empty level/],
    ['/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p', /at most 15 levels deep \(got 16\)/],
    ['aws-image', /must not begin with "aws"/],
    ['AWSimage', /must not begin with "aws"/],
    ['/ssm/image', /must not begin with "ssm"/],
    ['/SSM-images/latest', /must not begin with "ssm"/],
    ['image#1', /"#"/],
    ['image:latest', /":"/],
  ])('refuses %j and says why', (name, why) => {
    const [error, ...more] = errors({ ssmParameter: name });
    expect(more).toEqual([]);
    expect(error?.path).toBe('input.ssmParameter');
    expect(error?.message).toMatch(why);
  });
});
