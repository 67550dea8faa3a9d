/**
 * What RunInstances checks besides the image: subnets (DescribeSubnets) and key pairs
 * (CreateKeyPair, DescribeKeyPairs, DeleteKeyPair). Minimal on purpose: every region has one default
 * VPC with one default subnet per availability zone (a, b, c), derived from the account and zone so
 * they need no storage and stay the same across restarts; key pairs are stored per region, none seeded.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type {
  CreateKeyPairRequest,
  DeleteKeyPairRequest,
  DeleteKeyPairResult,
  DescribeKeyPairsRequest,
  DescribeKeyPairsResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  KeyPair,
  Subnet,
} from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { Ec2ApiFault, errors } from '../errors.js';
import { applyFilters, paginate, type FilterTable } from '../filters.js';
import type { KeyPairRecord } from '../state.js';
import { tagsOf } from '../views.js';
import { tagsFromSpecs } from './tags.js';

export const ZONE_LETTERS = ['a', 'b', 'c'] as const;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;

export interface DefaultSubnet {
  id: string;
  vpcId: string;
  availabilityZone: string;
  cidrBlock: string;
}

const hex17 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 17);

/** The region's default subnets, one per zone (the same ids for the same account, always). */
export function defaultSubnets(accountId: string, region: string): DefaultSubnet[] {
  const vpcId = `vpc-${hex17(`${accountId}|${region}|vpc`)}`;
  return ZONE_LETTERS.map((letter, i) => ({
    id: `subnet-${hex17(`${accountId}|${region}${letter}`)}`,
    vpcId,
    availabilityZone: `${region}${letter}`,
    cidrBlock: `172.31.${i * 16}.0/20`,
  }));
}

/** The subnet RunInstances launches into: the named one (checked as EC2 checks it), else the first zone's. */
export function launchSubnet(ctx: ActionContext, subnetId: string | undefined): DefaultSubnet {
  const subnets = defaultSubnets(ctx.rt.accountId, ctx.regionName);
  if (subnetId === undefined) return subnets[0]!;
  if (!SUBNET_ID.test(subnetId)) throw new Ec2ApiFault('InvalidSubnetID.Malformed', `Invalid id: "${subnetId}"`);
  const subnet = subnets.find((s) => s.id === subnetId);
  if (!subnet) throw subnetNotFound(subnetId);
  return subnet;
}

/** RunInstances' KeyName: EC2 refuses a name the region has no key pair for. */
export function assertKeyPair(ctx: ActionContext, keyName: string | undefined): void {
  if (keyName !== undefined && !ctx.store.keyPairs.has(keyName)) throw keyPairNotFound(keyName);
}

const subnetNotFound = (id: string) => new Ec2ApiFault('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
const keyPairNotFound = (name: string) => new Ec2ApiFault('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);

const SUBNET_FILTERS: FilterTable<DefaultSubnet> = {
  'subnet-id': (s) => [s.id],
  'vpc-id': (s) => [s.vpcId],
  'availability-zone': (s) => [s.availabilityZone],
  'default-for-az': () => ['true'],
  'cidr-block': (s) => [s.cidrBlock],
  state: () => ['available'],
};

export function describeSubnets(ctx: ActionContext, input: DescribeSubnetsRequest): DescribeSubnetsResult {
  let subnets = defaultSubnets(ctx.rt.accountId, ctx.regionName);
  const ids = input.SubnetIds ?? [];
  if (ids.length > 0) {
    const missing = ids.find((id) => !subnets.some((s) => s.id === id));
    if (missing !== undefined) throw subnetNotFound(missing);
    subnets = subnets.filter((s) => ids.includes(s.id));
  }
  const filtered = applyFilters(subnets, input.Filters, SUBNET_FILTERS, () => []);
  const page = paginate(filtered, (s) => s.id, input, { min: 5, max: 1000 });
  return { Subnets: page.items.map((s) => subnetView(ctx, s)), NextToken: page.nextToken };
}

function subnetView(ctx: ActionContext, s: DefaultSubnet): Subnet {
  return {
    SubnetId: s.id,
    SubnetArn: `arn:aws:ec2:${ctx.regionName}:${ctx.rt.accountId}:subnet/${s.id}`,
    VpcId: s.vpcId,
    OwnerId: ctx.rt.accountId,
    AvailabilityZone: s.availabilityZone,
    CidrBlock: s.cidrBlock,
    AvailableIpAddressCount: 4091,
    DefaultForAz: true,
    MapPublicIpOnLaunch: true,
    State: 'available',
    Ipv6CidrBlockAssociationSet: [],
    Tags: [],
  };
}

const KEY_NAME = /^[\x20-\x7e]{1,255}$/;

export function createKeyPair(ctx: ActionContext, input: CreateKeyPairRequest): KeyPair {
  const name = input.KeyName ?? '';
  if (!KEY_NAME.test(name)) throw errors.invalidParameterValue(`Invalid key pair name: '${name}'`);
  if (ctx.store.keyPairs.has(name)) throw new Ec2ApiFault('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
  const type = input.KeyType ?? 'rsa';
  const { material, fingerprint } = newKeyMaterial(type);
  const tags = tagsFromSpecs(input.TagSpecifications, ['key-pair']).get('key-pair') ?? [];
  const record: KeyPairRecord = {
    id: `key-${randomBytes(9).toString('hex').slice(0, 17)}`,
    name,
    type,
    fingerprint,
    createdAt: ctx.now,
    tags,
  };
  ctx.store.keyPairs.set(name, record);
  return {
    KeyPairId: record.id,
    KeyName: name,
    KeyFingerprint: fingerprint,
    KeyMaterial: material,
    Tags: tagsOf(tags),
  };
}

/** A real private key (the simulator keeps only its fingerprint), fingerprinted as EC2 does for keys it makes. */
function newKeyMaterial(type: string): { material: string; fingerprint: string } {
  if (type === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ type: 'spki', format: 'der' });
    return {
      material: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      fingerprint: createHash('sha256').update(der).digest('base64').replace(/=+$/, ''),
    };
  }
  if (type !== 'rsa') throw errors.invalidParameterValue(`Invalid key type: '${type}'`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const sha1 = createHash('sha1').update(der).digest('hex');
  return {
    material: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    fingerprint: sha1.match(/../g)!.join(':'),
  };
}

const KEY_PAIR_FILTERS: FilterTable<KeyPairRecord> = {
  'key-name': (k) => [k.name],
  'key-pair-id': (k) => [k.id],
  fingerprint: (k) => [k.fingerprint],
  'key-type': (k) => [k.type],
};

export function describeKeyPairs(ctx: ActionContext, input: DescribeKeyPairsRequest): DescribeKeyPairsResult {
  let keys = [...ctx.store.keyPairs.values()];
  const names = input.KeyNames ?? [];
  const ids = input.KeyPairIds ?? [];
  const missingName = names.find((n) => !ctx.store.keyPairs.has(n));
  if (missingName !== undefined) throw keyPairNotFound(missingName);
  const missingId = ids.find((id) => !keys.some((k) => k.id === id));
  if (missingId !== undefined) throw new Ec2ApiFault('InvalidKeyPair.NotFound', `The key pair ID '${missingId}' does not exist`);
  if (names.length > 0) keys = keys.filter((k) => names.includes(k.name));
  if (ids.length > 0) keys = keys.filter((k) => ids.includes(k.id));
  const filtered = applyFilters(keys, input.Filters, KEY_PAIR_FILTERS, (k) => k.tags);
  return {
    KeyPairs: filtered.map((k) => ({
      KeyPairId: k.id,
      KeyName: k.name,
      KeyType: k.type as 'rsa',
      KeyFingerprint: k.fingerprint,
      CreateTime: new Date(k.createdAt),
      Tags: tagsOf(k.tags),
    })),
  };
}

/** EC2 answers success for a key pair that is not there (deleting is idempotent). */
export function deleteKeyPair(ctx: ActionContext, input: DeleteKeyPairRequest): DeleteKeyPairResult {
  if (input.KeyName === undefined && input.KeyPairId === undefined) throw errors.missingParameter('KeyName');
  const key = [...ctx.store.keyPairs.values()].find((k) => k.name === input.KeyName || k.id === input.KeyPairId);
  if (key) ctx.store.keyPairs.delete(key.name);
  return { Return: true, ...(key && { KeyPairId: key.id }) };
}
