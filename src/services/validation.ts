// Responsible for checking a request the way EC2 would, before anything is recorded or sent, so bad
// input gets every problem at once with the path of the offending field.
import { resolveEncryption } from './encryption.js';
import type { FieldError } from './errors.js';
import { REGION_PATTERN } from './regions.js';
import type { Tag } from './ec2/types.js';

/** EC2: 3–128 characters: letters, digits, ( ) [ ] space . / - ' @ _ */
export const AMI_NAME_PATTERN = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;
export const INSTANCE_ID_PATTERN = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const AMI_ID_PATTERN = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** EC2 allows 50 tags per resource; the service adds its own system tags to each image. */
export const EC2_MAX_TAGS = 50;
export const SYSTEM_TAG_COUNT = 4;
export const MAX_USER_TAGS = EC2_MAX_TAGS - SYSTEM_TAG_COUNT;
export const MAX_COPY_REGIONS = 16;
export const MAX_SHARE_ACCOUNTS = 100;
export const MAX_DESCRIPTION = 255;
export const MAX_TEMPLATE_NAME = 128;
/** How many of a template's newest AMIs a retention may keep. */
export const MIN_KEEP_LATEST = 1;
export const MAX_KEEP_LATEST = 100;
export const RESERVED_TAG_PREFIXES = ['aws:', 'prism:'];
/** EC2 deprecates an image at most 10 years ahead; a time under a minute ahead would pass before EC2 sees it. */
export const MIN_DEPRECATE_AHEAD_MS = 60_000;
export const MAX_DEPRECATE_AHEAD_YEARS = 10;
/**
 * SSM: 1011 characters for the name with the ARN before it (`arn:aws:ssm:REGION:ACCOUNT:parameter/`,
 * at most 50 characters in the commercial regions), so 961 for the name itself.
 */
export const MAX_SSM_PARAMETER_NAME = 961;
export const MAX_SSM_HIERARCHY_DEPTH = 15;

export interface CreateAmiRequest {
  instance: string;
  name: string;
  description?: string | null;
  templateName?: string | null;
  noReboot?: boolean | null;
  public?: boolean | null;
  copyToRegions?: readonly string[] | null;
  shareWithAccounts?: readonly string[] | null;
  tags?: readonly Tag[] | null;
  idempotencyKey?: string | null;
  /** Once this AMI is available, keep only the newest keepLatest AMIs of its template. */
  retention?: { keepLatest: number } | null;
  /** Encrypt every image: the source region's key (none: the AWS managed key) and each copy region's. */
  encryption?: { kmsKeyId?: string | null; regionKmsKeyIds?: readonly { region: string; kmsKeyId: string }[] | null } | null;
  deprecateAt?: Date | null;
  deregistrationProtection?: boolean | null;
  requireImdsV2?: boolean | null;
  ssmParameter?: string | null;
}

export function validateAmiName(name: string, path: string): FieldError[] {
  if (AMI_NAME_PATTERN.test(name)) return [];
  if (name.length < 3 || name.length > 128) {
    return [{ path, message: `must be 3 to 128 characters long (got ${name.length})` }];
  }
  const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9()[\] ./\-'@_]/.test(c)))];
  return [
    {
      path,
      message: `may contain only letters, digits, spaces and ( ) [ ] . / - ' @ _ (found ${bad.map((c) => JSON.stringify(c)).join(', ')})`,
    },
  ];
}

export function validateTags(tags: readonly Tag[], path: string, max = MAX_USER_TAGS): FieldError[] {
  const errors: FieldError[] = [];
  if (tags.length > max) {
    errors.push({
      path,
      message: `at most ${max} tags (EC2 allows ${EC2_MAX_TAGS} per image and prism-ami adds ${SYSTEM_TAG_COUNT} of its own); got ${tags.length}`,
    });
  }
  const seen = new Set<string>();
  tags.forEach((tag, i) => {
    const p = `${path}.${i}`;
    if (tag.key.length === 0 || tag.key.length > 127) {
      errors.push({ path: `${p}.key`, message: `must be 1 to 127 characters long (got ${tag.key.length})` });
    }
    const reserved = RESERVED_TAG_PREFIXES.find((prefix) => tag.key.toLowerCase().startsWith(prefix));
    if (reserved) errors.push({ path: `${p}.key`, message: `the prefix "${reserved}" is reserved` });
    if (tag.value.length > 256) {
      errors.push({ path: `${p}.value`, message: `must be at most 256 characters long (got ${tag.value.length})` });
    }
    if (seen.has(tag.key)) errors.push({ path: `${p}.key`, message: `duplicate tag key "${tag.key}"` });
    seen.add(tag.key);
  });
  return errors;
}

export function validateAccountIds(ids: readonly string[], path: string, selfAccountId?: string): FieldError[] {
  const errors: FieldError[] = [];
  if (ids.length > MAX_SHARE_ACCOUNTS) {
    errors.push({ path, message: `at most ${MAX_SHARE_ACCOUNTS} accounts per request; got ${ids.length}` });
  }
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (!ACCOUNT_ID_PATTERN.test(id)) {
      errors.push({ path: `${path}.${i}`, message: `"${id}" is not an AWS account id (12 digits)` });
    } else if (seen.has(id)) {
      errors.push({ path: `${path}.${i}`, message: `account ${id} is listed twice` });
    } else if (id === selfAccountId) {
      errors.push({ path: `${path}.${i}`, message: `account ${id} owns the AMI already` });
    }
    seen.add(id);
  });
  return errors;
}

export function validateRegions(
  regions: readonly string[],
  path: string,
  known: ReadonlySet<string>,
  sourceRegion: string,
): FieldError[] {
  const errors: FieldError[] = [];
  if (regions.length > MAX_COPY_REGIONS) {
    errors.push({ path, message: `at most ${MAX_COPY_REGIONS} regions; got ${regions.length}` });
  }
  const seen = new Set<string>();
  regions.forEach((region, i) => {
    const p = `${path}.${i}`;
    if (!REGION_PATTERN.test(region) || !known.has(region)) {
      errors.push({ path: p, message: `"${region}" is not a region enabled for this account` });
    } else if (region === sourceRegion) {
      errors.push({ path: p, message: `${region} is the source region; the AMI is created there anyway` });
    } else if (seen.has(region)) {
      errors.push({ path: p, message: `${region} is listed twice` });
    }
    seen.add(region);
  });
  return errors;
}

/** Every problem with a createAmi request, with paths relative to the mutation's `input`. */
export function validateCreateAmi(
  input: CreateAmiRequest,
  ctx: { knownRegions: ReadonlySet<string>; sourceRegion: string; now: number },
): FieldError[] {
  const errors: FieldError[] = [];
  const instance = input.instance.trim();
  if (instance.length === 0) errors.push({ path: 'input.instance', message: 'an instance id (i-...) or Name tag is required' });
  else if (instance.length > 255) errors.push({ path: 'input.instance', message: 'must be at most 255 characters long' });
  errors.push(...validateAmiName(input.name, 'input.name'));
  if (input.description != null && input.description.length > MAX_DESCRIPTION) {
    errors.push({ path: 'input.description', message: `must be at most ${MAX_DESCRIPTION} characters long` });
  }
  if (input.templateName != null && (input.templateName.trim().length === 0 || input.templateName.length > MAX_TEMPLATE_NAME)) {
    errors.push({ path: 'input.templateName', message: `must be 1 to ${MAX_TEMPLATE_NAME} characters long` });
  }
  errors.push(...validateTags(input.tags ?? [], 'input.tags'));
  errors.push(...validateRegions(input.copyToRegions ?? [], 'input.copyToRegions', ctx.knownRegions, ctx.sourceRegion));
  errors.push(...validateAccountIds(input.shareWithAccounts ?? [], 'input.shareWithAccounts'));
  if (input.idempotencyKey != null && (input.idempotencyKey.length === 0 || input.idempotencyKey.length > 128)) {
    errors.push({ path: 'input.idempotencyKey', message: 'must be 1 to 128 characters long' });
  }
  if (input.retention != null) errors.push(...validateRetention(input.retention, input.templateName));
  errors.push(...validateImageSettings(input, ctx.now));
  if (input.encryption != null)
    errors.push(...resolveEncryption(input.encryption, encryptionContext(input, ctx.sourceRegion)).errors);
  return errors;
}

/** What the encryption of a request is judged against: the regions it goes to and who may launch it. */
export function encryptionContext(input: CreateAmiRequest, sourceRegion: string) {
  return {
    sourceRegion,
    copyToRegions: input.copyToRegions ?? [],
    public: input.public ?? false,
    shareWithAccounts: input.shareWithAccounts ?? [],
  };
}

/** deprecateAt and ssmParameter, as EC2 and SSM would refuse them (the other settings are booleans). */
export function validateImageSettings(input: Pick<CreateAmiRequest, 'deprecateAt' | 'ssmParameter'>, now: number): FieldError[] {
  const errors: FieldError[] = [];
  if (input.deprecateAt != null) {
    const error = validateDeprecateAt(input.deprecateAt, now);
    if (error) errors.push({ path: 'input.deprecateAt', message: error });
  }
  if (input.ssmParameter != null) {
    const error = validateSsmParameterName(input.ssmParameter);
    if (error) errors.push({ path: 'input.ssmParameter', message: error });
  }
  return errors;
}

function validateDeprecateAt(at: Date, now: number): string | undefined {
  const given = at.getTime();
  if (!Number.isFinite(given)) return 'is not a valid time';
  const stamp = (ms: number) => new Date(ms).toISOString();
  if (given < now + MIN_DEPRECATE_AHEAD_MS) {
    return `${stamp(given)} is in the past or less than a minute ahead (now is ${stamp(now)}); give a time in the future`;
  }
  const latest = new Date(now);
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_DEPRECATE_AHEAD_YEARS);
  if (given > latest.getTime()) {
    return `${stamp(given)} is more than ${MAX_DEPRECATE_AHEAD_YEARS} years ahead (now is ${stamp(now)}); EC2 deprecates at most ${MAX_DEPRECATE_AHEAD_YEARS} years ahead`;
  }
  return undefined;
}

/** SSM's naming constraints for a parameter (PutParameter's Name), checked before any image exists. */
export function validateSsmParameterName(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_SSM_PARAMETER_NAME) {
    return `must be at most ${MAX_SSM_PARAMETER_NAME} characters long (got ${name.length})`;
  }
  if (/\s/.test(name)) return 'must not contain spaces';
  const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9_.\-/]/.test(c)))];
  if (bad.length) {
    return `may contain only letters, digits and _ . - / (found ${bad.map((c) => JSON.stringify(c)).join(', ')})`;
  }
  const hierarchical = name.includes('/');
  if (hierarchical && !name.startsWith('/')) return 'a name in a hierarchy must start with / (e.g. /images/my-env/latest)';
  const segments = hierarchical ? name.slice(1).split('/') : [name];
  if (segments.some((s) => s.length === 0)) return 'must not contain an empty level (// or a trailing /)';
  if (segments.length > MAX_SSM_HIERARCHY_DEPTH) {
    return `a hierarchy is at most ${MAX_SSM_HIERARCHY_DEPTH} levels deep (got ${segments.length})`;
  }
  const reserved = ['aws', 'ssm'].find((prefix) => segments[0]!.toLowerCase().startsWith(prefix));
  if (reserved) return `must not begin with "${reserved}" (SSM reserves it, in any case, also after the leading /)`;
  return undefined;
}

/** A retention keeps the newest AMIs of one template: it needs the template, and a sane count. */
export function validateRetention(retention: { keepLatest: number }, templateName: string | null | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const { keepLatest } = retention;
  if (!Number.isInteger(keepLatest) || keepLatest < MIN_KEEP_LATEST || keepLatest > MAX_KEEP_LATEST) {
    errors.push({
      path: 'input.retention.keepLatest',
      message: `must be between ${MIN_KEEP_LATEST} and ${MAX_KEEP_LATEST} (got ${keepLatest})`,
    });
  }
  if (templateName == null || templateName.trim().length === 0) {
    errors.push({
      path: 'input.retention',
      message: 'set templateName: retention keeps the newest AMIs of one template',
    });
  }
  return errors;
}
