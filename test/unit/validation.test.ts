import { describe, expect, it } from 'vitest';
import { DEFAULT_REGIONS } from '../../src/services/regions.js';
import { MAX_USER_TAGS, validateAmiName, validateCreateAmi } from '../../src/services/validation.js';

const ctx = { knownRegions: new Set<string>(DEFAULT_REGIONS), sourceRegion: 'us-east-1', now: Date.UTC(2026, 0, 5) };
const paths = (input: Parameters<typeof validateCreateAmi>[0]) => validateCreateAmi(input, ctx).map((e) => e.path);

describe('AMI names as EC2 checks them', () => {
  it.each(['abc', 'my-python-env', "Lab's env (v2) [gpu] @2026/11_25", 'a'.repeat(128)])('accepts %j', (name) => {
    expect(validateAmiName(name, 'name')).toEqual([]);
  });
  it.each([
    ['ab', /3 to 128/],
    ['a'.repeat(129), /3 to 128/],
    ['bad#name', /"#"/],
    ['tab\there', /"\\t"/],
    ['emoji 🚀', /🚀/],
  ])('rejects %j and says why', (name, why) => {
    const [error] = validateAmiName(name, 'input.name');
    expect(error?.path).toBe('input.name');
    expect(error?.message).toMatch(why);
  });
});

describe('createAmi input', () => {
  it('accepts a minimal valid request', () => {
    expect(paths({ instance: 'demo-workstation', name: 'my env' })).toEqual([]);
  });

  it('reports each bad tag by index and field', () => {
    expect(
      paths({
        instance: 'x',
        name: 'ok name',
        tags: [
          { key: 'fine', value: 'v' },
          { key: 'AWS:reserved', value: 'v' },
          { key: '', value: 'v' },
          { key: 'long', value: 'v'.repeat(257) },
          { key: 'fine', value: 'dup' },
          { key: 'k'.repeat(128), value: '' },
        ],
      }),
    ).toEqual(['input.tags.1.key', 'input.tags.2.key', 'input.tags.3.value', 'input.tags.4.key', 'input.tags.5.key']);
  });

  it(`allows ${MAX_USER_TAGS} user tags, leaving room for the system tags under EC2's 50`, () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect(paths({ instance: 'x', name: 'ok name', tags: tags(MAX_USER_TAGS) })).toEqual([]);
    expect(paths({ instance: 'x', name: 'ok name', tags: tags(MAX_USER_TAGS + 1) })).toEqual(['input.tags']);
  });

  it('rejects unknown, duplicate and source regions', () => {
    expect(
      paths({ instance: 'x', name: 'ok name', copyToRegions: ['us-west-2', 'us-west-2', 'us-east-1', 'moon-1', 'US-WEST-2'] }),
    ).toEqual(['input.copyToRegions.1', 'input.copyToRegions.2', 'input.copyToRegions.3', 'input.copyToRegions.4']);
  });

  it('rejects account ids that are not 12 digits, and duplicates', () => {
    expect(
      paths({
        instance: 'x',
        name: 'ok name',
        shareWithAccounts: ['123456789012', '12345678901', 'abcdefghijkl', '123456789012'],
      }),
    ).toEqual(['input.shareWithAccounts.1', 'input.shareWithAccounts.2', 'input.shareWithAccounts.3']);
  });

  it('rejects an empty instance, a long description, an empty template and an oversized idempotency key', () => {
    expect(
      paths({
        instance: '  ',
        name: 'ok name',
        description: 'd'.repeat(256),
        templateName: ' ',
        idempotencyKey: 'k'.repeat(129),
      }),
    ).toEqual(['input.instance', 'input.description', 'input.templateName', 'input.idempotencyKey']);
  });
});

describe('createAmi retention', () => {
  const errors = (input: Partial<Parameters<typeof validateCreateAmi>[0]>) =>
    validateCreateAmi({ instance: 'demo-workstation', name: 'my env', ...input }, ctx);

  it.each([1, 3, 100])('accepts keepLatest %i with a templateName', (keepLatest) => {
    expect(errors({ templateName: 'gpu-base', retention: { keepLatest } })).toEqual([]);
  });

  it.each([0, 101, -1, 2.5])('refuses keepLatest %d, naming the range and what was given', (keepLatest) => {
    expect(errors({ templateName: 'gpu-base', retention: { keepLatest } })).toEqual([
      { path: 'input.retention.keepLatest', message: `must be between 1 and 100 (got ${keepLatest})` },
    ]);
  });

  it.each([undefined, null, '  '])('refuses a retention without a templateName (%j) and says to set one', (templateName) => {
    expect(errors({ templateName, retention: { keepLatest: 2 } }).map((e) => [e.path, e.message])).toContainEqual([
      'input.retention',
      'set templateName: retention keeps the newest AMIs of one template',
    ]);
  });
});
