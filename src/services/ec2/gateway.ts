// Responsible for every EC2 call the service makes, through @aws-sdk/client-ec2 over HTTP (AWS,
// moto, LocalStack or the built-in simulator alike). The only module that loads the SDK (shapes.ts
// uses its types, to convert them): it returns plain shapes and throws Ec2CallError with EC2's own code.
import type * as Sdk from '@aws-sdk/client-ec2';
import { regionClients, type ClientOptions } from '../aws-clients.js';
import { Ec2CallError } from './errors.js';
import {
  imageTagSpecifications,
  launchTagSpecifications,
  toImage,
  toInstance,
  toPermissions,
  toSdkTags,
  toSnapshot,
  toVolume,
  toVolumePermissions,
} from './shapes.js';
import type {
  BlockPublicAccessState,
  Ec2Gateway,
  Ec2Image,
  Ec2Instance,
  Ec2InstancePage,
  Ec2Snapshot,
  Ec2Volume,
  RunInstancesParams,
  Tag,
} from './types.js';

/** Without an endpoint, the SDK's own resolution (AWS_ENDPOINT_URL_EC2, …). */
export interface GatewayOptions extends ClientOptions {
  /** The region used for account-wide calls (DescribeRegions). */
  defaultRegion: string;
  /** Called once per EC2 call, for logs and metrics. */
  onCall?: (event: { action: string; region: string; durationMs: number; errorCode?: string }) => void;
}

/** EC2 accepts up to 1000 values per filter; the tracker's batches are chunked to that. */
export const MAX_IDS_PER_CALL = 1000;

type SdkModule = typeof Sdk;

/**
 * Sends one EC2 request in a region: `run` gets the SDK module (for its command classes) and that
 * region's client. Counted, timed and reported to onCall; its error comes out as Ec2CallError.
 */
type Call = <T>(region: string, action: string, run: (sdk: SdkModule, client: Sdk.EC2Client) => Promise<T>) => Promise<T>;

export function createEc2Gateway(options: GatewayOptions): Ec2Gateway & { destroy(): void } {
  const clients = regionClients(
    () => import('@aws-sdk/client-ec2'),
    (sdk, config) => new sdk.EC2Client(config),
    options,
  );
  let calls = 0;

  const call: Call = async (region, action, run) => {
    const started = performance.now();
    calls++;
    const { sdk, client } = await clients.get(region);
    try {
      const result = await run(sdk, client);
      options.onCall?.({ action, region, durationMs: performance.now() - started });
      return result;
    } catch (err) {
      const wrapped = wrapError(err, action, region);
      options.onCall?.({ action, region, durationMs: performance.now() - started, errorCode: wrapped.ec2Code });
      throw wrapped;
    }
  };

  return {
    callCount: () => calls,
    describeInstances: (region, query) => describeInstances(call, region, query),
    listInstances: (region, query) => listInstances(call, region, query),
    describeVolumes: (region, ids) => describeVolumes(call, region, ids),
    findVolumes: (region, ids) => findVolumes(call, region, ids),
    findImages: (region, query) => findImages(call, region, query),
    describeSnapshots: (region, ids) => describeSnapshots(call, region, ids),
    createImage: (region, params) => createImage(call, region, params),
    copyImage: (region, params) => copyImage(call, region, params),
    runInstances: (region, params) => runInstances(call, region, params),
    createTags: (region, resourceIds, tags) => createTags(call, region, resourceIds, tags),
    deleteTags: (region, resourceIds, keys) => deleteTags(call, region, resourceIds, keys),
    deregisterImage: (region, imageId) => deregisterImage(call, region, imageId),
    deleteSnapshot: (region, snapshotId) => deleteSnapshot(call, region, snapshotId),
    enableImageDeprecation: (region, imageId, at) => enableImageDeprecation(call, region, imageId, at),
    enableDeregistrationProtection: (region, imageId) => setDeregistrationProtection(call, region, imageId, true),
    disableDeregistrationProtection: (region, imageId) => setDeregistrationProtection(call, region, imageId, false),
    setImdsSupport: (region, imageId) => setImdsSupport(call, region, imageId),
    modifyLaunchPermission: (region, imageId, change) => modifyLaunchPermission(call, region, imageId, change),
    modifySnapshotCreateVolumePermission: (region, snapshotId, change) =>
      modifySnapshotCreateVolumePermission(call, region, snapshotId, change),
    getImageBlockPublicAccessState: (region) => getImageBlockPublicAccessState(call, region),
    describeRegions: () => describeRegions(call, options.defaultRegion),
    destroy: () => clients.destroy(),
  };
}

type Params<K extends keyof Ec2Gateway> = Parameters<Ec2Gateway[K]>;

function describeInstances(call: Call, region: string, query: Params<'describeInstances'>[1]): Promise<Ec2Instance[]> {
  const input: Sdk.DescribeInstancesRequest = query.ids
    ? { InstanceIds: query.ids }
    : { Filters: [{ Name: 'tag:Name', Values: [query.nameTag ?? ''] }], MaxResults: 1000 };
  return call(region, 'DescribeInstances', async (sdk, client) => {
    const out: Ec2Instance[] = [];
    for await (const page of sdk.paginateDescribeInstances({ client }, input)) {
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) out.push(toInstance(i));
    }
    return out;
  });
}

/** Exactly one request: the caller pages (the instance list maps its cursor onto EC2's NextToken). */
function listInstances(call: Call, region: string, query: Params<'listInstances'>[1]): Promise<Ec2InstancePage> {
  return call(region, 'DescribeInstances', async (sdk, client) => {
    const res = await client.send(
      new sdk.DescribeInstancesCommand({
        Filters: query.filters.map((f) => ({ Name: f.name, Values: f.values })),
        MaxResults: query.maxResults,
        NextToken: query.nextToken,
      }),
    );
    const instances = (res.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map(toInstance));
    return { instances, nextToken: res.NextToken || undefined };
  });
}

async function describeVolumes(call: Call, region: string, ids: string[]): Promise<Ec2Volume[]> {
  if (ids.length === 0) return [];
  return volumes(call, region, { VolumeIds: ids });
}

/** One request per MAX_IDS_PER_CALL ids; a volume deleted meanwhile is left out instead of failing the call. */
async function findVolumes(call: Call, region: string, ids: string[]): Promise<Ec2Volume[]> {
  const out: Ec2Volume[] = [];
  for (const ids1000 of chunk(ids, MAX_IDS_PER_CALL)) {
    out.push(...(await volumes(call, region, { Filters: [{ Name: 'volume-id', Values: ids1000 }], MaxResults: 1000 })));
  }
  return out;
}

/** Every page of one DescribeVolumes request, as plain shapes. */
function volumes(call: Call, region: string, input: Sdk.DescribeVolumesRequest): Promise<Ec2Volume[]> {
  return call(region, 'DescribeVolumes', async (sdk, client) => {
    const out: Ec2Volume[] = [];
    for await (const page of sdk.paginateDescribeVolumes({ client }, input)) {
      for (const v of page.Volumes ?? []) out.push(toVolume(v));
    }
    return out;
  });
}

/**
 * Ids go in an `image-id` filter, not ImageIds, so an unknown id is left out of the answer instead
 * of failing the whole request; a filter takes at most MAX_IDS_PER_CALL values, hence the chunks.
 */
async function findImages(call: Call, region: string, query: Params<'findImages'>[1]): Promise<Ec2Image[]> {
  const filters: Sdk.Filter[] = [];
  if (query.name !== undefined) filters.push({ Name: 'name', Values: [query.name] });
  if (query.tag) filters.push({ Name: `tag:${query.tag.key}`, Values: query.tag.values });
  const idChunks = query.ids ? chunk(query.ids, MAX_IDS_PER_CALL) : [undefined];
  const out: Ec2Image[] = [];
  for (const ids of idChunks) {
    if (ids?.length === 0) continue;
    const chunkFilters = ids ? [...filters, { Name: 'image-id', Values: ids }] : filters;
    out.push(...(await describeOwnImages(call, region, chunkFilters)));
  }
  return out;
}

function describeOwnImages(call: Call, region: string, filters: Sdk.Filter[]): Promise<Ec2Image[]> {
  return call(region, 'DescribeImages', async (sdk, client) => {
    const found: Ec2Image[] = [];
    for await (const page of sdk.paginateDescribeImages(
      { client },
      { Owners: ['self'], Filters: filters, IncludeDeprecated: true, MaxResults: 1000 },
    )) {
      for (const img of page.Images ?? []) found.push(toImage(img));
    }
    return found;
  });
}

/** As findImages: a `snapshot-id` filter, so unknown ids are absent rather than an error. */
async function describeSnapshots(call: Call, region: string, ids: string[]): Promise<Ec2Snapshot[]> {
  const out: Ec2Snapshot[] = [];
  for (const ids1000 of chunk(ids, MAX_IDS_PER_CALL)) {
    const snaps = await call(region, 'DescribeSnapshots', async (sdk, client) => {
      const found: Ec2Snapshot[] = [];
      for await (const page of sdk.paginateDescribeSnapshots(
        { client },
        { OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: ids1000 }], MaxResults: 1000 },
      )) {
        for (const s of page.Snapshots ?? []) found.push(toSnapshot(s));
      }
      return found;
    });
    out.push(...snaps);
  }
  return out;
}

function createImage(call: Call, region: string, p: Params<'createImage'>[1]): Promise<string> {
  return call(region, 'CreateImage', async (sdk, client) => {
    const res = await client.send(
      new sdk.CreateImageCommand({
        InstanceId: p.instanceId,
        Name: p.name,
        Description: p.description,
        NoReboot: p.noReboot,
        // Image tags only: moto answers HTTP 500 to a `snapshot` TagSpecification, so snapshots
        // are tagged with CreateTags once their ids are known.
        TagSpecifications: imageTagSpecifications(p.tags),
      }),
    );
    return requireImageId(res.ImageId, 'CreateImage', region);
  });
}

function copyImage(call: Call, region: string, p: Params<'copyImage'>[1]): Promise<string> {
  return call(region, 'CopyImage', async (sdk, client) => {
    const res = await client.send(
      new sdk.CopyImageCommand({
        SourceRegion: p.sourceRegion,
        SourceImageId: p.sourceImageId,
        Name: p.name,
        Description: p.description,
        ClientToken: p.clientToken,
        ...(p.encrypted ? { Encrypted: true, ...(p.kmsKeyId ? { KmsKeyId: p.kmsKeyId } : {}) } : {}),
        CopyImageTags: true,
        TagSpecifications: imageTagSpecifications(p.tags),
      }),
    );
    return requireImageId(res.ImageId, 'CopyImage', region);
  });
}

/** The SDK types ImageId as optional; an answer without one is unusable, not a success. */
function requireImageId(imageId: string | undefined, action: string, region: string): string {
  if (!imageId) throw new Ec2CallError('InvalidResponse', `${action} returned no ImageId`, action, region, 200);
  return imageId;
}

function runInstances(call: Call, region: string, p: RunInstancesParams): Promise<Ec2Instance> {
  const tags = p.name === undefined ? p.tags : [{ key: 'Name', value: p.name }, ...p.tags];
  return call(region, 'RunInstances', async (sdk, client) => {
    const res = await client.send(
      new sdk.RunInstancesCommand({
        ImageId: p.imageId,
        InstanceType: p.instanceType as Sdk._InstanceType,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: p.subnetId,
        KeyName: p.keyName,
        // Without one the SDK fills in a token per command, so its own retries never launch twice.
        ClientToken: p.clientToken,
        TagSpecifications: launchTagSpecifications(tags),
      }),
    );
    const [instance] = res.Instances ?? [];
    if (!instance?.InstanceId) {
      throw new Ec2CallError('InvalidResponse', 'RunInstances returned no instance', 'RunInstances', region, 200);
    }
    return toInstance(instance);
  });
}

async function createTags(call: Call, region: string, resourceIds: string[], tags: Tag[]): Promise<void> {
  if (resourceIds.length === 0 || tags.length === 0) return;
  await call(region, 'CreateTags', (sdk, client) =>
    client.send(new sdk.CreateTagsCommand({ Resources: resourceIds, Tags: toSdkTags(tags) })),
  );
}

async function deleteTags(call: Call, region: string, resourceIds: string[], keys: string[]): Promise<void> {
  if (resourceIds.length === 0 || keys.length === 0) return;
  await call(region, 'DeleteTags', (sdk, client) =>
    client.send(new sdk.DeleteTagsCommand({ Resources: resourceIds, Tags: keys.map((Key) => ({ Key })) })),
  );
}

async function deregisterImage(call: Call, region: string, imageId: string): Promise<void> {
  await call(region, 'DeregisterImage', (sdk, client) => client.send(new sdk.DeregisterImageCommand({ ImageId: imageId })));
}

async function deleteSnapshot(call: Call, region: string, snapshotId: string): Promise<void> {
  await call(region, 'DeleteSnapshot', (sdk, client) => client.send(new sdk.DeleteSnapshotCommand({ SnapshotId: snapshotId })));
}

async function enableImageDeprecation(call: Call, region: string, imageId: string, at: number): Promise<void> {
  await call(region, 'EnableImageDeprecation', (sdk, client) =>
    client.send(new sdk.EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(at) })),
  );
}

async function setDeregistrationProtection(call: Call, region: string, imageId: string, enabled: boolean): Promise<void> {
  if (enabled) {
    // No cooldown: disabling then lifts the protection at once, which is what protectAmi(false) promises.
    await call(region, 'EnableImageDeregistrationProtection', (sdk, client) =>
      client.send(new sdk.EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown: false })),
    );
  } else {
    await call(region, 'DisableImageDeregistrationProtection', (sdk, client) =>
      client.send(new sdk.DisableImageDeregistrationProtectionCommand({ ImageId: imageId })),
    );
  }
}

async function setImdsSupport(call: Call, region: string, imageId: string): Promise<void> {
  await call(region, 'ModifyImageAttribute', (sdk, client) =>
    client.send(new sdk.ModifyImageAttributeCommand({ ImageId: imageId, ImdsSupport: { Value: 'v2.0' } })),
  );
}

async function modifyLaunchPermission(
  call: Call,
  region: string,
  imageId: string,
  change: Params<'modifyLaunchPermission'>[2],
): Promise<void> {
  await call(region, 'ModifyImageAttribute', (sdk, client) =>
    client.send(
      new sdk.ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: { Add: toPermissions(change.add), Remove: toPermissions(change.remove) },
      }),
    ),
  );
}

async function modifySnapshotCreateVolumePermission(
  call: Call,
  region: string,
  snapshotId: string,
  change: Params<'modifySnapshotCreateVolumePermission'>[2],
): Promise<void> {
  await call(region, 'ModifySnapshotAttribute', (sdk, client) =>
    client.send(
      new sdk.ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Add: toVolumePermissions(change.add), Remove: toVolumePermissions(change.remove) },
      }),
    ),
  );
}

async function getImageBlockPublicAccessState(call: Call, region: string): Promise<BlockPublicAccessState> {
  try {
    return await call(region, 'GetImageBlockPublicAccessState', async (sdk, client) => {
      const res = await client.send(new sdk.GetImageBlockPublicAccessStateCommand({}));
      return res.ImageBlockPublicAccessState === 'block-new-sharing' ? 'block-new-sharing' : 'unblocked';
    });
  } catch (err) {
    // EC2-compatible endpoints without this API (moto) cannot block public access.
    if (isMissingApi(err)) return 'unsupported';
    throw err;
  }
}

function isMissingApi(err: unknown): boolean {
  if (!(err instanceof Ec2CallError)) return false;
  return (
    ['InvalidAction', 'NotImplemented', 'UnsupportedOperation', 'UnparseableResponse'].includes(err.ec2Code) ||
    err.httpStatus === 404 ||
    err.httpStatus === 501
  );
}

/** Account-wide, so asked in the default region. */
function describeRegions(call: Call, defaultRegion: string): Promise<string[]> {
  return call(defaultRegion, 'DescribeRegions', async (sdk, client) => {
    const res = await client.send(new sdk.DescribeRegionsCommand({ AllRegions: false }));
    return (res.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
  });
}

function wrapError(err: unknown, action: string, region: string): Ec2CallError {
  if (err instanceof Ec2CallError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  // SDK service exceptions carry EC2's code as `name`; network failures carry a Node `code`.
  let code = e.code && !status ? e.code : (e.name ?? 'Unknown');
  // An answer that is not EC2's error XML (an HTML 500, a proxy page) carries no EC2 code.
  if (code === 'Error') code = status ? 'UnparseableResponse' : 'NetworkError';
  const message = (e.message || code).split('\n')[0]!;
  return new Ec2CallError(code, message, action, region, status);
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
