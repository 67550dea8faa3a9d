// Responsible for a creation's encryption request as EC2 and KMS would judge it, before anything
// is recorded or sent: the key formats EC2 accepts, which key encrypts the image in each region
// (a key lives in one region; only a multi-Region key can be named for another), and what EC2
// cannot do with encrypted images (public ones, or sharing those of the AWS managed key).
import type { FieldError } from './errors.js';

export interface EncryptionRequest {
  kmsKeyId?: string | null;
  regionKmsKeyIds?: readonly { region: string; kmsKeyId: string }[] | null;
}

/** The key EC2 uses when none is named; images encrypted with it cannot be shared with other accounts. */
export const AWS_MANAGED_KEY = 'alias/aws/ebs';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const MRK = 'mrk-[0-9a-fA-F]{32}';
const ALIAS = 'alias/[A-Za-z0-9/_-]{1,250}';
const ARN_PREFIX = 'arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\\d{12})';
const KEY_ID = new RegExp(`^(${UUID}|${MRK})$`);
const ALIAS_NAME = new RegExp(`^${ALIAS}$`);
const KEY_ARN = new RegExp(`^${ARN_PREFIX}:key/(${UUID}|${MRK})$`);
const ALIAS_ARN = new RegExp(`^${ARN_PREFIX}:${ALIAS}$`);
const MULTI_REGION = new RegExp(`(^|:key/)${MRK}$`);

/** The region a key ARN or alias ARN names; undefined for key ids and alias names, or a malformed key. */
function arnRegion(key: string): string | undefined {
  return (KEY_ARN.exec(key) ?? ALIAS_ARN.exec(key))?.[2];
}

const wellFormed = (key: string) => KEY_ID.test(key) || ALIAS_NAME.test(key) || KEY_ARN.test(key) || ALIAS_ARN.test(key);

/** No key, alias/aws/ebs, or its alias ARN: EC2's AWS managed key of the region. */
export function isManagedKey(key: string | null | undefined): boolean {
  return !key || key === AWS_MANAGED_KEY || /:alias\/aws\/ebs$/.test(key);
}

/** The problem with a key used in `region` (format, or an ARN of another region); undefined when fine. */
function keyProblem(key: string, region: string): string | undefined {
  if (!wellFormed(key)) {
    return `"${key}" is not a KMS key EC2 accepts: a key id, a multi-Region key id (mrk-…), a key ARN, an alias name (alias/…) or an alias ARN`;
  }
  const named = arnRegion(key);
  if (named && named !== region) return `"${key}" is a key in ${named}; it cannot encrypt the image in ${region}`;
  return undefined;
}

/**
 * The key of a copy region that has no entry of its own: the AWS managed key stays the managed
 * key, a multi-Region key has a replica of the same id (its ARN rewritten to the region); any
 * other key belongs to the source region alone.
 */
function derivedKey(kmsKeyId: string | null | undefined, region: string): string | undefined {
  if (isManagedKey(kmsKeyId)) return AWS_MANAGED_KEY;
  if (!MULTI_REGION.test(kmsKeyId!)) return undefined;
  return KEY_ARN.test(kmsKeyId!) ? kmsKeyId!.replace(/^(arn:[^:]+:kms:)[a-z0-9-]+:/, `$1${region}:`) : kmsKeyId!;
}

export interface ResolvedEncryption {
  errors: FieldError[];
  /** The key of every copy region (alias/aws/ebs for the AWS managed key), as CopyImage will name it. */
  regionKeys: Record<string, string>;
}

/**
 * Every problem with the encryption of a createAmi request at once (paths under
 * input.encryption), and the key each copy region resolves to.
 */
export function resolveEncryption(
  encryption: EncryptionRequest,
  ctx: { sourceRegion: string; copyToRegions: readonly string[]; public: boolean; shareWithAccounts: readonly string[] },
): ResolvedEncryption {
  const errors: FieldError[] = [];
  const path = 'input.encryption';
  const { kmsKeyId } = encryption;
  const sourceProblem = kmsKeyId != null ? keyProblem(kmsKeyId, ctx.sourceRegion) : undefined;
  if (sourceProblem) errors.push({ path: `${path}.kmsKeyId`, message: sourceProblem });
  const { given, listed } = entriesByRegion(encryption, ctx, errors);
  const regionKeys: Record<string, string> = {};
  const underived: string[] = [];
  for (const region of new Set(ctx.copyToRegions)) {
    const key = given.get(region) ?? (sourceProblem ? undefined : derivedKey(kmsKeyId, region));
    if (key) regionKeys[region] = key;
    // A region whose own entry is wrong is reported there already.
    else if (!sourceProblem && !listed.has(region)) underived.push(region);
  }
  for (const region of underived) {
    errors.push({
      path: `${path}.regionKmsKeyIds`,
      message: `the key for ${region} cannot be derived from kmsKeyId "${kmsKeyId}" (only a multi-Region key, mrk-…, has a replica there): add { region: "${region}", kmsKeyId: "…" } with a key of ${region}`,
    });
  }
  errors.push(...publishingProblems(kmsKeyId, regionKeys, ctx));
  return { errors, regionKeys };
}

/** The entries of regionKmsKeyIds, each for a copy region, once, with a key usable there; and the regions listed. */
function entriesByRegion(
  encryption: EncryptionRequest,
  ctx: { sourceRegion: string; copyToRegions: readonly string[] },
  errors: FieldError[],
): { given: Map<string, string>; listed: Set<string> } {
  const given = new Map<string, string>();
  const seen = new Set<string>();
  const copies = new Set(ctx.copyToRegions);
  (encryption.regionKmsKeyIds ?? []).forEach((entry, i) => {
    const p = `input.encryption.regionKmsKeyIds.${i}`;
    if (entry.region === ctx.sourceRegion) {
      errors.push({ path: `${p}.region`, message: `${entry.region} is the source region: its key is encryption.kmsKeyId` });
    } else if (!copies.has(entry.region)) {
      errors.push({ path: `${p}.region`, message: `${entry.region} is not one of copyToRegions` });
    } else if (seen.has(entry.region)) {
      errors.push({ path: `${p}.region`, message: `${entry.region} is listed twice` });
    } else {
      seen.add(entry.region);
      const problem = keyProblem(entry.kmsKeyId, entry.region);
      if (problem) errors.push({ path: `${p}.kmsKeyId`, message: problem });
      else given.set(entry.region, entry.kmsKeyId);
    }
  });
  return { given, listed: seen };
}

/** What EC2 refuses to do with encrypted images: make them public, or share those of the AWS managed key. */
function publishingProblems(
  kmsKeyId: string | null | undefined,
  regionKeys: Record<string, string>,
  ctx: { sourceRegion: string; public: boolean; shareWithAccounts: readonly string[] },
): FieldError[] {
  const errors: FieldError[] = [];
  if (ctx.public) {
    errors.push({
      path: 'input.public',
      message: 'EC2 does not allow public encrypted AMIs; share the AMI with accounts instead (with a customer managed key)',
    });
  }
  if (!ctx.public && ctx.shareWithAccounts.length === 0) return errors;
  const managed = [
    ...(isManagedKey(kmsKeyId) ? [ctx.sourceRegion] : []),
    ...Object.entries(regionKeys).flatMap(([region, key]) => (isManagedKey(key) ? [region] : [])),
  ];
  if (managed.length) {
    errors.push({
      path: isManagedKey(kmsKeyId) ? 'input.encryption.kmsKeyId' : 'input.encryption.regionKmsKeyIds',
      message: `sharing needs a customer managed KMS key: EC2 cannot share images encrypted with the AWS managed key (alias/aws/ebs), which ${managed.join(', ')} would use; name a key of your own`,
    });
  }
  return errors;
}
