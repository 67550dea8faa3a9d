/**
 * Responsible for KMS key identifiers as EC2 accepts them in CopyImage's KmsKeyId, and for the key
 * ARN EC2 reports on the encrypted snapshots.
 *
 * KMS itself is not modelled: every well-formed key of the account in the region exists. An alias
 * resolves to a key id derived from the account, region and alias name, so the same alias always
 * reports the same key ARN (as a real alias does until it is retargeted), and `alias/aws/ebs` (the AWS
 * managed key, used when Encrypted comes without KmsKeyId) is one such alias.
 */
import { createHash } from 'node:crypto';
import { errors } from './errors.js';

export const AWS_MANAGED_EBS_ALIAS = 'alias/aws/ebs';

const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;

/** A stable, UUID-shaped key id for an alias (no KMS: see above). */
function keyIdOfAlias(accountId: string, region: string, alias: string): string {
  const hex = createHash('sha256').update(`${accountId}/${region}/${alias}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const keyArn = (region: string, accountId: string, keyId: string): string => `arn:aws:kms:${region}:${accountId}:key/${keyId}`;

/**
 * The key ARN for `keyId` in `region` (the destination of the copy), in any of EC2's formats: key id,
 * multi-Region key id, key ARN, alias name, alias ARN. Malformed, or an ARN of another region or
 * account → InvalidParameterValue (EC2 would accept some of these and fail the copy later; an
 * immediate error keeps the simulator's answer deterministic).
 */
export function resolveKmsKey(keyId: string | undefined, region: string, accountId: string): string {
  const id = keyId ?? AWS_MANAGED_EBS_ALIAS;
  if (KEY_ID.test(id)) return keyArn(region, accountId, id);
  if (ALIAS.test(id)) return keyArn(region, accountId, keyIdOfAlias(accountId, region, id));
  const arn = ARN.exec(id);
  if (!arn)
    throw errors.invalidParameterValue(`Invalid KMS key identifier ${id}: expected a key id, key ARN, alias name or alias ARN.`);
  const [, arnRegion, arnAccount, resource = ''] = arn;
  if (arnRegion !== region || arnAccount !== accountId) {
    throw errors.invalidParameterValue(
      `The KMS key ${id} is not in the destination region ${region} of account ${accountId}: use a key of that region.`,
    );
  }
  if (resource.startsWith('alias/') && ALIAS.test(resource)) {
    return keyArn(region, accountId, keyIdOfAlias(accountId, region, resource));
  }
  const bare = resource.slice('key/'.length);
  if (resource.startsWith('key/') && KEY_ID.test(bare)) return keyArn(region, accountId, bare);
  throw errors.invalidParameterValue(`Invalid KMS key identifier ${id}: expected a key id, key ARN, alias name or alias ARN.`);
}
