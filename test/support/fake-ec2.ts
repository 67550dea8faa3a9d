// An in-memory Ec2Gateway for the fast unit tier: instances with volumes, images whose snapshots
// progress only when a test says so, copies with ClientToken idempotency, tags, launch permissions
// and block public access, per region; RunInstances launches instances that stay pending until a
// test makes them running, and checks subnets and key pairs against the ones a test added. Every request is recorded (action, region, args) and counted
// as the real gateway counts it (a batch of more than 1000 ids is several requests), and faults
// are thrown exactly as the real gateway throws them: Ec2CallError with EC2's code and HTTP status.
import { Ec2CallError } from '../../src/services/ec2/errors.js';
import type {
  BlockPublicAccessState,
  Ec2Gateway,
  Ec2Filter,
  Ec2Image,
  Ec2Instance,
  Ec2Snapshot,
  Ec2Volume,
  LaunchPermissionChange,
  RunInstancesParams,
  Tag,
} from '../../src/services/ec2/types.js';

/** EC2's action names, as the real gateway reports them. */
export type Ec2Action =
  | 'DescribeInstances'
  | 'DescribeVolumes'
  | 'DescribeImages'
  | 'DescribeSnapshots'
  | 'CreateImage'
  | 'CopyImage'
  | 'RunInstances'
  | 'CreateTags'
  | 'DeleteTags'
  | 'DeregisterImage'
  | 'DeleteSnapshot'
  | 'ModifyImageAttribute'
  | 'ModifySnapshotAttribute'
  | 'DescribeImageAttribute'
  | 'EnableImageDeprecation'
  | 'EnableImageDeregistrationProtection'
  | 'DisableImageDeregistrationProtection'
  | 'GetImageBlockPublicAccessState'
  | 'DescribeRegions';

export interface FakeCall {
  action: Ec2Action;
  region: string;
  args: unknown;
  /** EC2's error code when the request failed. */
  errorCode?: string;
}

/**
 * What an injected fault throws: `throttle` (RequestLimitExceeded, HTTP 503), `network` (a reset
 * connection, no HTTP status), or any EC2 error code with its HTTP status (400 unless given).
 */
export type FakeError = 'throttle' | 'network' | { code: string; status?: number; message?: string };

export interface FaultOptions {
  /** Only requests to this region (default: any). */
  region?: string;
  /** How many requests fail (default 1). */
  times?: number;
  /** Default `throttle`. */
  error?: FakeError;
  /** Carry the request out, then throw: an answer lost on the way back. */
  afterApplying?: boolean;
}

export interface FakeInstanceSpec {
  region?: string;
  name?: string;
  /** Default `running`. */
  state?: string;
  architecture?: string;
  /** One volume per entry; default one of 8 GiB. */
  volumesGiB?: number[];
  encrypted?: boolean;
  tags?: Tag[];
}

interface FakeInstance extends Ec2Instance {
  region: string;
}

interface FakeVolume extends Ec2Volume {
  region: string;
}

interface FakeImage {
  id: string;
  region: string;
  name: string;
  description: string | undefined;
  state: string;
  stateReason: string | undefined;
  architecture: string | undefined;
  snapshotIds: string[];
  encrypted: boolean;
  /** As EC2 reports it: the key ARN of the encrypted snapshots. */
  kmsKeyId: string | undefined;
  tags: Tag[];
  createdAt: string;
  hidden: boolean;
  launchPublic: boolean;
  launchUserIds: Set<string>;
  /** Made by CopyImage: while pending it holds one of the region's concurrent-copy slots. */
  copied: boolean;
  deprecationTime: string | undefined;
  deregistrationProtection: boolean;
  imdsSupport: string | undefined;
}

interface FakeSnapshot {
  id: string;
  region: string;
  imageId: string;
  state: string;
  progress: number;
  volumeSizeGiB: number;
  stateMessage: string | undefined;
  tags: Tag[];
  createVolumeUserIds: Set<string>;
}

interface Fault {
  action: Ec2Action;
  region: string | undefined;
  remaining: number;
  error: FakeError;
  afterApplying: boolean;
}

interface Hook {
  action: Ec2Action;
  region: string | undefined;
  run: (call: FakeCall) => void | Promise<void>;
}

export const FAKE_ACCOUNT_ID = '123456789012';

/** The fake's AWS managed EBS key id: EC2 reports the key ARN of whatever key encrypted a snapshot. */
export const FAKE_MANAGED_KEY_ID = '00000000-0000-4000-8000-00000000ebs0';

/** The key ARN EC2 reports for a key given by id, ARN or alias (aliases resolve to a key of their own). */
export function kmsKeyArn(region: string, key: string | undefined): string {
  if (key?.startsWith('arn:')) return key;
  const id = !key || key === 'alias/aws/ebs' ? FAKE_MANAGED_KEY_ID : key.startsWith('alias/') ? `key-for-${key.slice(6)}` : key;
  return `arn:aws:kms:${region}:${FAKE_ACCOUNT_ID}:key/${id}`;
}

/** An EC2 filter value: `*` and `?` wildcards, `\\` escapes the next character. */
function wildcard(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern.charAt(++i));
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, 's');
}
const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function filterMatches(i: Ec2Instance, f: Ec2Filter): boolean {
  let values: (string | undefined)[];
  if (f.name.startsWith('tag:')) values = i.tags.filter((t) => t.key === f.name.slice(4)).map((t) => t.value);
  else if (f.name === 'instance-state-name') values = [i.state];
  else if (f.name === 'instance-id') values = [i.id];
  else throw new Error(`fake EC2: filter ${f.name} is not implemented`);
  const patterns = f.values.map(wildcard);
  return values.some((v) => v !== undefined && patterns.some((p) => p.test(v)));
}
const MAX_IDS_PER_CALL = 1000;

export type FakeEc2 = ReturnType<typeof createFakeEc2>;

export function createFakeEc2(options: { now?: () => number; regions?: string[]; defaultRegion?: string } = {}) {
  const now = options.now ?? Date.now;
  const regions = options.regions ?? ['us-east-1', 'us-west-2', 'eu-west-1'];
  const defaultRegion = options.defaultRegion ?? regions[0] ?? 'us-east-1';
  const instances = new Map<string, FakeInstance>();
  const volumes = new Map<string, FakeVolume>();
  const images = new Map<string, FakeImage>();
  const snapshots = new Map<string, FakeSnapshot>();
  const copyTokens = new Map<string, string>();
  /** `region|subnet-id` and `region|key-name`: what RunInstances accepts. */
  const subnets = new Set<string>();
  const keyPairs = new Set<string>();
  const launches = new Map<string, RunInstancesParams & { tags: Tag[] }>();
  const blockPublicAccess = new Map<string, BlockPublicAccessState>();
  const copyLimits = new Map<string, number>();
  const calls: FakeCall[] = [];
  const faults: Fault[] = [];
  const hooks: Hook[] = [];
  let imagesToHide = 0;
  let counter = 0;

  const newId = (prefix: string) => `${prefix}-${(++counter).toString(16).padStart(17, '0')}`;

  function thrown(error: FakeError, action: Ec2Action, region: string): Ec2CallError {
    if (error === 'throttle') return new Ec2CallError('RequestLimitExceeded', 'Request limit exceeded.', action, region, 503);
    if (error === 'network') return new Ec2CallError('ECONNRESET', 'socket hang up', action, region, undefined);
    return new Ec2CallError(error.code, error.message ?? `injected ${error.code}`, action, region, error.status ?? 400);
  }

  /**
   * One EC2 request: counted and recorded first (the real gateway counts a request that fails
   * too), then an injected fault, then the work, then a test's hook before the answer returns.
   */
  async function request<T>(action: Ec2Action, region: string, args: unknown, work: () => T): Promise<T> {
    const call: FakeCall = { action, region, args };
    calls.push(call);
    const fault = faults.find((f) => f.action === action && (f.region === undefined || f.region === region));
    if (fault) {
      fault.remaining--;
      if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
      const err = thrown(fault.error, action, region);
      call.errorCode = err.ec2Code;
      if (fault.afterApplying) {
        try {
          work();
        } catch {
          // the request failed on its own; the injected error is what the caller sees either way
        }
      }
      throw err;
    }
    let result: T;
    try {
      result = work();
    } catch (err) {
      if (err instanceof Ec2CallError) call.errorCode = err.ec2Code;
      throw err;
    }
    const hookIndex = hooks.findIndex((h) => h.action === action && (h.region === undefined || h.region === region));
    if (hookIndex >= 0) {
      const [hook] = hooks.splice(hookIndex, 1);
      await hook!.run(call);
    }
    return result;
  }

  function fail(code: string, message: string, action: Ec2Action, region: string): never {
    throw new Ec2CallError(code, message, action, region, 400);
  }

  function imageIn(region: string, id: string, action: Ec2Action): FakeImage {
    const image = images.get(id);
    if (!image || image.region !== region || image.state === 'deregistered') {
      fail('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`, action, region);
    }
    return image;
  }

  function snapshotIn(region: string, id: string, action: Ec2Action): FakeSnapshot {
    const snapshot = snapshots.get(id);
    if (!snapshot || snapshot.region !== region) {
      fail('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`, action, region);
    }
    return snapshot;
  }

  function nameTaken(region: string, name: string): FakeImage | undefined {
    return [...images.values()].find((i) => i.region === region && i.name === name && i.state !== 'deregistered');
  }

  function register(
    region: string,
    base: {
      name: string;
      description: string | undefined;
      architecture: string | undefined;
      encrypted: boolean;
      kmsKeyId?: string | undefined;
      tags: Tag[];
    },
    volumeSizes: number[],
  ): FakeImage {
    const id = newId('ami');
    const image: FakeImage = {
      id,
      region,
      kmsKeyId: undefined,
      ...base,
      state: 'pending',
      stateReason: undefined,
      snapshotIds: [],
      createdAt: new Date(now()).toISOString(),
      hidden: imagesToHide > 0,
      launchPublic: false,
      launchUserIds: new Set(),
      copied: false,
      deprecationTime: undefined,
      deregistrationProtection: false,
      imdsSupport: undefined,
    };
    if (imagesToHide > 0) imagesToHide--;
    for (const size of volumeSizes) {
      const snapshot: FakeSnapshot = {
        id: newId('snap'),
        region,
        imageId: id,
        state: 'pending',
        progress: 0,
        volumeSizeGiB: size,
        stateMessage: undefined,
        tags: [],
        createVolumeUserIds: new Set(),
      };
      snapshots.set(snapshot.id, snapshot);
      image.snapshotIds.push(snapshot.id);
    }
    images.set(id, image);
    return image;
  }

  function view(image: FakeImage): Ec2Image {
    return {
      id: image.id,
      name: image.name,
      description: image.description,
      state: image.state,
      stateReason: image.stateReason,
      architecture: image.architecture,
      public: image.launchPublic,
      ownerId: FAKE_ACCOUNT_ID,
      snapshotIds: [...image.snapshotIds],
      sizeGiB: image.snapshotIds.reduce((sum, id) => sum + (snapshots.get(id)?.volumeSizeGiB ?? 0), 0),
      encrypted: image.encrypted,
      // As EC2: DescribeImages shows Encrypted only; the key ARN is on the snapshots.
      kmsKeyId: undefined,
      tags: image.tags.map((t) => ({ ...t })),
      createdAt: image.createdAt,
      deprecationTime: image.deprecationTime,
      deregistrationProtection: image.deregistrationProtection,
      imdsSupport: image.imdsSupport,
    };
  }

  function snapshotView(s: FakeSnapshot): Ec2Snapshot {
    const kmsKeyId = images.get(s.imageId)?.kmsKeyId;
    return {
      id: s.id,
      state: s.state,
      progress: s.progress,
      volumeSizeGiB: s.volumeSizeGiB,
      stateMessage: s.stateMessage,
      ...(kmsKeyId ? { kmsKeyId } : {}),
    };
  }

  function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
    const out = existing.filter((t) => !added.some((a) => a.key === t.key));
    return [...out, ...added.map((t) => ({ ...t }))];
  }

  function known(id: string): FakeImage {
    const image = images.get(id);
    if (!image) throw new Error(`fake EC2: no image ${id}`);
    return image;
  }

  function chunks<T>(items: T[]): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += MAX_IDS_PER_CALL) out.push(items.slice(i, i + MAX_IDS_PER_CALL));
    return out;
  }

  const gateway: Ec2Gateway = {
    callCount: () => calls.length,

    describeInstances(region, query) {
      return request('DescribeInstances', region, query, () => {
        const inRegion = [...instances.values()].filter((i) => i.region === region);
        if (query.ids) {
          const missing = query.ids.filter((id) => !inRegion.some((i) => i.id === id));
          if (missing.length)
            fail(
              'InvalidInstanceID.NotFound',
              `The instance IDs '${missing.join(', ')}' do not exist`,
              'DescribeInstances',
              region,
            );
          return inRegion.filter((i) => query.ids!.includes(i.id)).map(instanceView);
        }
        return inRegion.filter((i) => i.name === (query.nameTag ?? '')).map(instanceView);
      });
    },

    /** EC2's semantics for the filters the service sends (tag:K, instance-state-name, wildcards); pages by id. */
    listInstances(region, query) {
      return request('DescribeInstances', region, query, () => {
        if (query.maxResults < 5 || query.maxResults > 1000) {
          fail(
            'InvalidParameterValue',
            `Value ( ${query.maxResults} ) for parameter maxResults is invalid.`,
            'DescribeInstances',
            region,
          );
        }
        const matching = [...instances.values()]
          .filter((i) => i.region === region && query.filters.every((f) => filterMatches(i, f)))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const start = query.nextToken ? matching.findIndex((i) => i.id > query.nextToken!) : 0;
        const from = start < 0 ? matching.length : start;
        const page = matching.slice(from, from + query.maxResults);
        const more = from + query.maxResults < matching.length;
        return { instances: page.map(instanceView), nextToken: more ? page[page.length - 1]!.id : undefined };
      });
    },

    async findVolumes(region, ids) {
      const out: Ec2Volume[] = [];
      for (const ids1000 of chunks(ids)) {
        const found = await request('DescribeVolumes', region, { filter: { 'volume-id': ids1000 } }, () =>
          ids1000.flatMap((id) => {
            const v = volumes.get(id);
            return v && v.region === region ? [{ id: v.id, sizeGiB: v.sizeGiB, encrypted: v.encrypted }] : [];
          }),
        );
        out.push(...found);
      }
      return out;
    },

    async describeVolumes(region, ids) {
      if (ids.length === 0) return [];
      return request('DescribeVolumes', region, { ids }, () =>
        ids.map((id) => {
          const v = volumes.get(id);
          if (!v || v.region !== region)
            fail('InvalidVolume.NotFound', `The volume '${id}' does not exist.`, 'DescribeVolumes', region);
          return { id: v.id, sizeGiB: v.sizeGiB, encrypted: v.encrypted };
        }),
      );
    },

    async findImages(region, query) {
      const idChunks = query.ids ? chunks(query.ids) : [undefined];
      const out: Ec2Image[] = [];
      for (const ids of idChunks) {
        const args = { ...query, ...(ids ? { ids } : {}) };
        const found = await request('DescribeImages', region, args, () =>
          [...images.values()]
            .filter(
              (i) =>
                i.region === region &&
                !i.hidden &&
                (ids === undefined || ids.includes(i.id)) &&
                (query.name === undefined || i.name === query.name) &&
                (!query.tag || i.tags.some((t) => t.key === query.tag!.key && query.tag!.values.includes(t.value))),
            )
            .map(view),
        );
        out.push(...found);
      }
      return out;
    },

    async describeSnapshots(region, ids) {
      const out: Ec2Snapshot[] = [];
      for (const chunk of chunks(ids)) {
        const found = await request('DescribeSnapshots', region, { ids: chunk }, () =>
          chunk.flatMap((id) => {
            const s = snapshots.get(id);
            return s && s.region === region && !images.get(s.imageId)?.hidden ? [snapshotView(s)] : [];
          }),
        );
        out.push(...found);
      }
      return out;
    },

    createImage(region, params) {
      return request('CreateImage', region, params, () => {
        const instance = instances.get(params.instanceId);
        if (!instance || instance.region !== region) {
          fail('InvalidInstanceID.NotFound', `The instance ID '${params.instanceId}' does not exist`, 'CreateImage', region);
        }
        if (instance.state !== 'running' && instance.state !== 'stopped') {
          fail(
            'IncorrectInstanceState',
            `The instance '${instance.id}' is not in a state from which it can be imaged.`,
            'CreateImage',
            region,
          );
        }
        if (nameTaken(region, params.name)) {
          fail(
            'InvalidAMIName.Duplicate',
            `AMI name ${params.name} is already in use by AMI ${nameTaken(region, params.name)!.id}`,
            'CreateImage',
            region,
          );
        }
        const sizes = instance.volumeIds.map((id) => volumes.get(id)?.sizeGiB ?? 0);
        const encrypted = instance.volumeIds.some((id) => volumes.get(id)?.encrypted === true);
        return register(
          region,
          {
            name: params.name,
            description: params.description,
            architecture: instance.architecture,
            encrypted,
            tags: params.tags,
          },
          sizes,
        ).id;
      });
    },

    copyImage(region, params) {
      return request('CopyImage', region, params, () => {
        const earlier = copyTokens.get(`${region}|${params.clientToken}`);
        if (earlier) return earlier;
        const source = imageIn(params.sourceRegion, params.sourceImageId, 'CopyImage');
        if (source.state !== 'available') {
          fail('IncorrectState', `Image ${source.id} is not in a valid state for copying: ${source.state}`, 'CopyImage', region);
        }
        if (nameTaken(region, params.name)) {
          fail('InvalidAMIName.Duplicate', `AMI name ${params.name} is already in use`, 'CopyImage', region);
        }
        const limit = copyLimits.get(region);
        const inProgress = [...images.values()].filter((i) => i.region === region && i.copied && i.state === 'pending');
        if (limit !== undefined && inProgress.length >= limit) {
          fail(
            'ResourceLimitExceeded',
            `You have reached the maximum number of concurrent AMI copies (${limit}) to ${region}.`,
            'CopyImage',
            region,
          );
        }
        const sizes = source.snapshotIds.map((id) => snapshots.get(id)?.volumeSizeGiB ?? 0);
        // CopyImageTags: the source's tags, then the TagSpecifications.
        const copy = register(
          region,
          {
            name: params.name,
            description: params.description,
            architecture: source.architecture,
            // An encrypted copy takes the key asked for; otherwise it keeps the source's encryption.
            encrypted: source.encrypted || params.encrypted === true,
            kmsKeyId: params.encrypted ? kmsKeyArn(region, params.kmsKeyId) : source.kmsKeyId,
            tags: mergeTags(source.tags, params.tags),
          },
          sizes,
        );
        copy.copied = true;
        copyTokens.set(`${region}|${params.clientToken}`, copy.id);
        return copy.id;
      });
    },

    runInstances(region, params) {
      return request('RunInstances', region, params, () => {
        const image = imageIn(region, params.imageId, 'RunInstances');
        if (image.state !== 'available') {
          fail('InvalidAMIID.Unavailable', `The image id '[${image.id}]' is not available`, 'RunInstances', region);
        }
        if (params.subnetId !== undefined && !subnets.has(`${region}|${params.subnetId}`)) {
          fail('InvalidSubnetID.NotFound', `The subnet ID '${params.subnetId}' does not exist`, 'RunInstances', region);
        }
        if (params.keyName !== undefined && !keyPairs.has(`${region}|${params.keyName}`)) {
          fail('InvalidKeyPair.NotFound', `The key pair '${params.keyName}' does not exist`, 'RunInstances', region);
        }
        const tags = [...(params.name === undefined ? [] : [{ key: 'Name', value: params.name }]), ...params.tags];
        const sizes = image.snapshotIds.map((id) => snapshots.get(id)?.volumeSizeGiB ?? 0);
        const id = addInstance({
          region,
          name: params.name,
          state: 'pending',
          architecture: image.architecture,
          volumesGiB: sizes,
        });
        const instance = instances.get(id)!;
        instance.tags = tags.map((t) => ({ ...t }));
        launches.set(id, { ...params, tags: tags.map((t) => ({ ...t })) });
        return instanceView(instance);
      });
    },

    async createTags(region, resourceIds, tags) {
      if (resourceIds.length === 0 || tags.length === 0) return;
      await request('CreateTags', region, { resourceIds, tags }, () => {
        const targets = resourceIds.map((id) =>
          id.startsWith('snap-') ? snapshotIn(region, id, 'CreateTags') : imageIn(region, id, 'CreateTags'),
        );
        for (const t of targets) t.tags = mergeTags(t.tags, tags);
      });
    },

    async deleteTags(region, resourceIds, keys) {
      if (resourceIds.length === 0 || keys.length === 0) return;
      await request('DeleteTags', region, { resourceIds, keys }, () => {
        for (const id of resourceIds) {
          const t = id.startsWith('snap-') ? snapshotIn(region, id, 'DeleteTags') : imageIn(region, id, 'DeleteTags');
          t.tags = t.tags.filter((tag) => !keys.includes(tag.key));
        }
      });
    },

    async deregisterImage(region, imageId) {
      await request('DeregisterImage', region, { imageId }, () => {
        const image = imageIn(region, imageId, 'DeregisterImage');
        if (image.deregistrationProtection) {
          // EC2's own answer: a client error whose message names the protection.
          fail('OperationNotPermitted', `Image ${imageId} has deregistration protection enabled.`, 'DeregisterImage', region);
        }
        image.state = 'deregistered';
      });
    },

    async enableImageDeprecation(region, imageId, at) {
      await request('EnableImageDeprecation', region, { imageId, at }, () => {
        // EC2 rounds the time down to the minute.
        imageIn(region, imageId, 'EnableImageDeprecation').deprecationTime = new Date(at - (at % 60_000)).toISOString();
      });
    },

    async enableDeregistrationProtection(region, imageId) {
      await request('EnableImageDeregistrationProtection', region, { imageId }, () => {
        imageIn(region, imageId, 'EnableImageDeregistrationProtection').deregistrationProtection = true;
      });
    },

    async disableDeregistrationProtection(region, imageId) {
      await request('DisableImageDeregistrationProtection', region, { imageId }, () => {
        imageIn(region, imageId, 'DisableImageDeregistrationProtection').deregistrationProtection = false;
      });
    },

    async setImdsSupport(region, imageId) {
      await request('ModifyImageAttribute', region, { imageId, imdsSupport: 'v2.0' }, () => {
        imageIn(region, imageId, 'ModifyImageAttribute').imdsSupport = 'v2.0';
      });
    },

    async deleteSnapshot(region, snapshotId) {
      await request('DeleteSnapshot', region, { snapshotId }, () => {
        const snapshot = snapshotIn(region, snapshotId, 'DeleteSnapshot');
        const user = [...images.values()].find((i) => i.state !== 'deregistered' && i.snapshotIds.includes(snapshotId));
        if (user) {
          fail('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${user.id}`, 'DeleteSnapshot', region);
        }
        snapshots.delete(snapshot.id);
      });
    },

    async modifyLaunchPermission(region, imageId, change) {
      await request('ModifyImageAttribute', region, { imageId, ...change }, () => {
        const image = imageIn(region, imageId, 'ModifyImageAttribute');
        if (change.add?.group === 'all' && blockPublicAccess.get(region) === 'block-new-sharing') {
          fail(
            'OperationNotPermitted',
            'You cannot make the image public because block public access for AMIs is enabled for this account.',
            'ModifyImageAttribute',
            region,
          );
        }
        const apply = (c: LaunchPermissionChange | undefined, add: boolean) => {
          if (!c) return;
          if (c.group === 'all') image.launchPublic = add;
          for (const id of c.userIds ?? []) {
            if (add) image.launchUserIds.add(id);
            else image.launchUserIds.delete(id);
          }
        };
        apply(change.add, true);
        apply(change.remove, false);
      });
    },

    async modifySnapshotCreateVolumePermission(region, snapshotId, change) {
      await request('ModifySnapshotAttribute', region, { snapshotId, ...change }, () => {
        const snapshot = snapshotIn(region, snapshotId, 'ModifySnapshotAttribute');
        for (const id of change.add ?? []) snapshot.createVolumeUserIds.add(id);
        for (const id of change.remove ?? []) snapshot.createVolumeUserIds.delete(id);
      });
    },

    getImageBlockPublicAccessState(region) {
      return request('GetImageBlockPublicAccessState', region, {}, () => blockPublicAccess.get(region) ?? 'unblocked');
    },

    describeRegions() {
      return request('DescribeRegions', defaultRegion, {}, () => [...regions]);
    },
  };

  function instanceView(i: FakeInstance): Ec2Instance {
    return {
      id: i.id,
      name: i.name,
      state: i.state,
      architecture: i.architecture,
      volumeIds: [...i.volumeIds],
      tags: i.tags.map((t) => ({ ...t })),
      launchedAt: i.launchedAt,
    };
  }

  function addInstance(spec: FakeInstanceSpec = {}): string {
    const region = spec.region ?? defaultRegion;
    const volumeIds = (spec.volumesGiB ?? [8]).map((sizeGiB) => {
      const id = newId('vol');
      volumes.set(id, { id, region, sizeGiB, encrypted: spec.encrypted ?? false });
      return id;
    });
    const id = newId('i');
    const tags = [...(spec.name ? [{ key: 'Name', value: spec.name }] : []), ...(spec.tags ?? [])];
    instances.set(id, {
      id,
      region,
      name: spec.name,
      state: spec.state ?? 'running',
      architecture: spec.architecture ?? 'x86_64',
      volumeIds,
      tags,
      launchedAt: new Date(now()).toISOString(),
    });
    return id;
  }

  return {
    ...gateway,

    // --- the world -------------------------------------------------------------------------
    addInstance,

    /** A subnet RunInstances accepts in `region`. */
    addSubnet(region: string, subnetId: string): void {
      subnets.add(`${region}|${subnetId}`);
    },

    /** A key pair RunInstances accepts in `region`. */
    addKeyPair(region: string, keyName: string): void {
      keyPairs.add(`${region}|${keyName}`);
    },

    /** What RunInstances was asked for this instance (its tags with Name), undefined when it was not launched. */
    launchOf(instanceId: string): (RunInstancesParams & { tags: Tag[] }) | undefined {
      return launches.get(instanceId);
    },

    /** EC2 moves an instance on by itself (pending → running); here a test does. */
    setInstanceState(instanceId: string, state: string): void {
      const instance = instances.get(instanceId);
      if (!instance) throw new Error(`fake EC2: no instance ${instanceId}`);
      instance.state = state;
    },

    /** Set the image's snapshot progress: one percent for all, or one per snapshot in order. 100 completes a snapshot. */
    advance(imageId: string, percent: number | number[]): void {
      const image = known(imageId);
      image.snapshotIds.forEach((id, i) => {
        const s = snapshots.get(id);
        const p = typeof percent === 'number' ? percent : percent[i];
        if (!s || p === undefined) return;
        s.progress = p;
        s.state = p >= 100 ? 'completed' : 'pending';
      });
    },

    /** Every snapshot completed and the image available (EC2 does not turn it available by itself here). */
    complete(imageId: string): void {
      const image = known(imageId);
      for (const id of image.snapshotIds) {
        const s = snapshots.get(id);
        if (s) Object.assign(s, { progress: 100, state: 'completed' });
      }
      image.state = 'available';
    },

    /** The image fails with EC2's StateReason message. */
    fail(imageId: string, reason: string): void {
      const image = known(imageId);
      image.state = 'failed';
      image.stateReason = reason;
      for (const id of image.snapshotIds) {
        const s = snapshots.get(id);
        if (s) Object.assign(s, { state: 'error', stateMessage: reason });
      }
    },

    /** The next `count` images registered (CreateImage or CopyImage) are not listed until revealed. */
    hideNextImages(count = 1): void {
      imagesToHide += count;
    },

    hide(imageId: string): void {
      known(imageId).hidden = true;
    },

    reveal(imageId: string): void {
      known(imageId).hidden = false;
    },

    setBlockPublicAccess(region: string, state: BlockPublicAccessState): void {
      blockPublicAccess.set(region, state);
    },

    /**
     * EC2's limit of concurrent copies to `region` (copies made by CopyImage still pending): past it
     * CopyImage answers ResourceLimitExceeded (HTTP 400); a repeated ClientToken still answers its copy.
     */
    limitConcurrentCopies(region: string, limit: number): void {
      copyLimits.set(region, limit);
    },

    // --- faults and hooks --------------------------------------------------------------------
    /** The next request(s) of `action` fail as the real gateway would throw. */
    failNext(action: Ec2Action, fault: FaultOptions = {}): void {
      faults.push({
        action,
        region: fault.region,
        remaining: fault.times ?? 1,
        error: fault.error ?? 'throttle',
        afterApplying: fault.afterApplying ?? false,
      });
    },

    /**
     * Run `hook` once, during the next successful request of `action`: after EC2 has done the work
     * and computed its answer, before the caller receives it (a concurrent change in mid-flight).
     */
    beforeAnswering(action: Ec2Action, hook: (call: FakeCall) => void | Promise<void>, filter: { region?: string } = {}): void {
      hooks.push({ action, region: filter.region, run: hook });
    },

    // --- what happened ---------------------------------------------------------------------
    calls: calls as readonly FakeCall[],

    /** Requests since `mark` (a previous `calls.length`), optionally of one action. */
    callsSince(mark: number, action?: Ec2Action): FakeCall[] {
      return calls.slice(mark).filter((c) => action === undefined || c.action === action);
    },

    callsOf(action: Ec2Action, region?: string): FakeCall[] {
      return calls.filter((c) => c.action === action && (region === undefined || c.region === region));
    },

    /** An image as EC2 holds it, hidden or deregistered ones included. */
    image(imageId: string): Ec2Image & { region: string; hidden: boolean } {
      const image = known(imageId);
      return { ...view(image), region: image.region, hidden: image.hidden };
    },

    /** Images in a region, deregistered ones included. */
    images(region: string): (Ec2Image & { region: string })[] {
      return [...images.values()].filter((i) => i.region === region).map((i) => ({ ...view(i), region: i.region }));
    },

    snapshot(snapshotId: string): (Ec2Snapshot & { tags: Tag[]; createVolumeUserIds: string[] }) | undefined {
      const s = snapshots.get(snapshotId);
      return s && { ...snapshotView(s), tags: s.tags.map((t) => ({ ...t })), createVolumeUserIds: [...s.createVolumeUserIds] };
    },

    launchPermissions(imageId: string): { public: boolean; userIds: string[] } {
      const image = known(imageId);
      return { public: image.launchPublic, userIds: [...image.launchUserIds] };
    },
  };
}
