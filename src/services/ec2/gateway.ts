// Responsible for every EC2 call the service makes, through @aws-sdk/client-ec2 over HTTP (AWS,
// moto, LocalStack or the built-in simulator alike). The only module that imports the SDK: it
// returns plain shapes and throws Ec2CallError with EC2's own code.
import type * as Sdk from '@aws-sdk/client-ec2';
import { Ec2CallError } from './errors.js';
import type {
  BlockPublicAccessState,
  Ec2Gateway,
  Ec2Image,
  Ec2Instance,
  Ec2Snapshot,
  Ec2Volume,
  LaunchPermissionChange,
  Tag,
} from './types.js';

export interface GatewayOptions {
  /** Explicit endpoint (simulator, moto); otherwise the SDK's own resolution (AWS_ENDPOINT_URL_EC2, …). */
  endpoint?: string | undefined;
  /** Static credentials (simulator, tests); otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** The region used for account-wide calls (DescribeRegions). */
  defaultRegion: string;
  /** SDK standard-mode attempts (jittered exponential backoff, throttling-aware); default 5. */
  maxAttempts?: number;
  /** Called once per EC2 call, for logs and metrics. */
  onCall?: (event: { action: string; region: string; durationMs: number; errorCode?: string }) => void;
}

/** EC2 accepts up to 1000 values per filter; the tracker's batches are chunked to that. */
export const MAX_IDS_PER_CALL = 1000;

type SdkModule = typeof Sdk;

export function createEc2Gateway(options: GatewayOptions): Ec2Gateway & { destroy(): void } {
  // The SDK is large; load it on first use so start-up and idle memory stay small.
  let sdkPromise: Promise<SdkModule> | undefined;
  const loadSdk = () => (sdkPromise ??= import('@aws-sdk/client-ec2'));
  const clients = new Map<string, Sdk.EC2Client>();
  let calls = 0;

  async function client(region: string): Promise<{ sdk: SdkModule; client: Sdk.EC2Client }> {
    const sdk = await loadSdk();
    let c = clients.get(region);
    if (!c) {
      c = new sdk.EC2Client({
        region,
        retryMode: 'standard',
        // Five attempts make a request fail only if it is throttled 5 times in a row (0.2% at a 30%
        // throttling rate); the tracker adds its own per-region backoff on top.
        maxAttempts: options.maxAttempts ?? 5,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      clients.set(region, c);
    }
    return { sdk, client: c };
  }

  async function call<T>(
    region: string,
    action: string,
    run: (sdk: SdkModule, client: Sdk.EC2Client) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    calls++;
    const { sdk, client: c } = await client(region);
    try {
      const result = await run(sdk, c);
      options.onCall?.({ action, region, durationMs: performance.now() - started });
      return result;
    } catch (err) {
      const wrapped = wrapError(err, action, region);
      options.onCall?.({ action, region, durationMs: performance.now() - started, errorCode: wrapped.ec2Code });
      throw wrapped;
    }
  }

  return {
    callCount: () => calls,

    async describeInstances(region, query) {
      return call(region, 'DescribeInstances', async (sdk, c) => {
        const out: Ec2Instance[] = [];
        const input: Sdk.DescribeInstancesRequest = query.ids
          ? { InstanceIds: query.ids }
          : { Filters: [{ Name: 'tag:Name', Values: [query.nameTag ?? ''] }], MaxResults: 1000 };
        for await (const page of sdk.paginateDescribeInstances({ client: c }, input)) {
          for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) out.push(toInstance(i));
        }
        return out;
      });
    },

    async describeVolumes(region, ids) {
      if (ids.length === 0) return [];
      return call(region, 'DescribeVolumes', async (sdk, c) => {
        const out: Ec2Volume[] = [];
        for await (const page of sdk.paginateDescribeVolumes({ client: c }, { VolumeIds: ids })) {
          for (const v of page.Volumes ?? []) {
            out.push({ id: v.VolumeId ?? '', sizeGiB: v.Size ?? 0, encrypted: v.Encrypted ?? false });
          }
        }
        return out;
      });
    },

    async findImages(region, query) {
      const filters: Sdk.Filter[] = [];
      if (query.name !== undefined) filters.push({ Name: 'name', Values: [query.name] });
      if (query.tag) filters.push({ Name: `tag:${query.tag.key}`, Values: query.tag.values });
      const idChunks = query.ids ? chunk(query.ids, MAX_IDS_PER_CALL) : [undefined];
      const out: Ec2Image[] = [];
      for (const ids of idChunks) {
        if (ids?.length === 0) continue;
        const chunkFilters = ids ? [...filters, { Name: 'image-id', Values: ids }] : filters;
        const images = await call(region, 'DescribeImages', async (sdk, c) => {
          const found: Ec2Image[] = [];
          for await (const page of sdk.paginateDescribeImages(
            { client: c },
            { Owners: ['self'], Filters: chunkFilters, IncludeDeprecated: true, MaxResults: 1000 },
          )) {
            for (const img of page.Images ?? []) found.push(toImage(img));
          }
          return found;
        });
        out.push(...images);
      }
      return out;
    },

    async describeSnapshots(region, ids) {
      const out: Ec2Snapshot[] = [];
      for (const ids1000 of chunk(ids, MAX_IDS_PER_CALL)) {
        const snaps = await call(region, 'DescribeSnapshots', async (sdk, c) => {
          const found: Ec2Snapshot[] = [];
          for await (const page of sdk.paginateDescribeSnapshots(
            { client: c },
            { OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: ids1000 }], MaxResults: 1000 },
          )) {
            for (const s of page.Snapshots ?? []) {
              found.push({
                id: s.SnapshotId ?? '',
                state: s.State ?? 'pending',
                progress: parsePercent(s.Progress),
                volumeSizeGiB: s.VolumeSize ?? 0,
                stateMessage: s.StateMessage || undefined,
              });
            }
          }
          return found;
        });
        out.push(...snaps);
      }
      return out;
    },

    async createImage(region, p) {
      return call(region, 'CreateImage', async (sdk, c) => {
        const res = await c.send(
          new sdk.CreateImageCommand({
            InstanceId: p.instanceId,
            Name: p.name,
            Description: p.description,
            NoReboot: p.noReboot,
            // Image tags only: moto answers HTTP 500 to a `snapshot` TagSpecification, so snapshots
            // are tagged with CreateTags once their ids are known.
            TagSpecifications: p.tags.length ? [{ ResourceType: 'image', Tags: toSdkTags(p.tags) }] : undefined,
          }),
        );
        if (!res.ImageId) throw new Ec2CallError('InvalidResponse', 'CreateImage returned no ImageId', 'CreateImage', region, 200);
        return res.ImageId;
      });
    },

    async copyImage(region, p) {
      return call(region, 'CopyImage', async (sdk, c) => {
        const res = await c.send(
          new sdk.CopyImageCommand({
            SourceRegion: p.sourceRegion,
            SourceImageId: p.sourceImageId,
            Name: p.name,
            Description: p.description,
            ClientToken: p.clientToken,
            CopyImageTags: true,
            TagSpecifications: p.tags.length ? [{ ResourceType: 'image', Tags: toSdkTags(p.tags) }] : undefined,
          }),
        );
        if (!res.ImageId) throw new Ec2CallError('InvalidResponse', 'CopyImage returned no ImageId', 'CopyImage', region, 200);
        return res.ImageId;
      });
    },

    async createTags(region, resourceIds, tags) {
      if (resourceIds.length === 0 || tags.length === 0) return;
      await call(region, 'CreateTags', (sdk, c) =>
        c.send(new sdk.CreateTagsCommand({ Resources: resourceIds, Tags: toSdkTags(tags) })),
      );
    },

    async deleteTags(region, resourceIds, keys) {
      if (resourceIds.length === 0 || keys.length === 0) return;
      await call(region, 'DeleteTags', (sdk, c) =>
        c.send(new sdk.DeleteTagsCommand({ Resources: resourceIds, Tags: keys.map((Key) => ({ Key })) })),
      );
    },

    async deregisterImage(region, imageId) {
      await call(region, 'DeregisterImage', (sdk, c) => c.send(new sdk.DeregisterImageCommand({ ImageId: imageId })));
    },

    async deleteSnapshot(region, snapshotId) {
      await call(region, 'DeleteSnapshot', (sdk, c) =>
        c.send(new sdk.DeleteSnapshotCommand({ SnapshotId: snapshotId })),
      );
    },

    async modifyLaunchPermission(region, imageId, change) {
      await call(region, 'ModifyImageAttribute', (sdk, c) =>
        c.send(
          new sdk.ModifyImageAttributeCommand({
            ImageId: imageId,
            LaunchPermission: { Add: toPermissions(change.add), Remove: toPermissions(change.remove) },
          }),
        ),
      );
    },

    async modifySnapshotCreateVolumePermission(region, snapshotId, change) {
      await call(region, 'ModifySnapshotAttribute', (sdk, c) =>
        c.send(
          new sdk.ModifySnapshotAttributeCommand({
            SnapshotId: snapshotId,
            Attribute: 'createVolumePermission',
            CreateVolumePermission: {
              Add: change.add?.map((UserId) => ({ UserId })),
              Remove: change.remove?.map((UserId) => ({ UserId })),
            },
          }),
        ),
      );
    },

    async describeLaunchPermissions(region, imageId) {
      return call(region, 'DescribeImageAttribute', async (sdk, c) => {
        const res = await c.send(new sdk.DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
        const perms = res.LaunchPermissions ?? [];
        return {
          public: perms.some((p) => p.Group === 'all'),
          userIds: perms.flatMap((p) => (p.UserId ? [p.UserId] : [])),
        };
      });
    },

    async getImageBlockPublicAccessState(region): Promise<BlockPublicAccessState> {
      try {
        return await call(region, 'GetImageBlockPublicAccessState', async (sdk, c) => {
          const res = await c.send(new sdk.GetImageBlockPublicAccessStateCommand({}));
          return res.ImageBlockPublicAccessState === 'block-new-sharing' ? 'block-new-sharing' : 'unblocked';
        });
      } catch (err) {
        // EC2-compatible endpoints without this API (moto) cannot block public access.
        if (
          err instanceof Ec2CallError &&
          ['InvalidAction', 'NotImplemented', 'UnsupportedOperation', 'UnparseableResponse'].includes(err.ec2Code)
        ) {
          return 'unsupported';
        }
        if (err instanceof Ec2CallError && (err.httpStatus === 404 || err.httpStatus === 501)) return 'unsupported';
        throw err;
      }
    },

    async describeRegions() {
      return call(options.defaultRegion, 'DescribeRegions', async (sdk, c) => {
        const res = await c.send(new sdk.DescribeRegionsCommand({ AllRegions: false }));
        return (res.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
      });
    },

    destroy() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
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

function toInstance(i: Sdk.Instance): Ec2Instance {
  const tags = fromSdkTags(i.Tags);
  return {
    id: i.InstanceId ?? '',
    name: tags.find((t) => t.key === 'Name')?.value,
    state: i.State?.Name ?? 'unknown',
    architecture: i.Architecture,
    volumeIds: (i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.VolumeId ? [m.Ebs.VolumeId] : [])),
    tags,
  };
}

function toImage(img: Sdk.Image): Ec2Image {
  const ebs = (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs ? [m.Ebs] : []));
  return {
    id: img.ImageId ?? '',
    name: img.Name ?? '',
    description: img.Description || undefined,
    state: img.State ?? 'pending',
    stateReason: img.StateReason?.Message || img.StateReason?.Code || undefined,
    architecture: img.Architecture,
    public: img.Public ?? false,
    ownerId: img.OwnerId,
    snapshotIds: ebs.flatMap((e) => (e.SnapshotId ? [e.SnapshotId] : [])),
    sizeGiB: ebs.reduce((sum, e) => sum + (e.VolumeSize ?? 0), 0),
    encrypted: ebs.some((e) => e.Encrypted === true),
    tags: fromSdkTags(img.Tags),
    createdAt: img.CreationDate,
  };
}

function toSdkTags(tags: Tag[]): Sdk.Tag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value }));
}

function fromSdkTags(tags: Sdk.Tag[] | undefined): Tag[] {
  return (tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

function toPermissions(change: LaunchPermissionChange | undefined): Sdk.LaunchPermission[] | undefined {
  if (!change) return undefined;
  const perms: Sdk.LaunchPermission[] = [];
  if (change.group) perms.push({ Group: change.group });
  for (const id of change.userIds ?? []) perms.push({ UserId: id });
  return perms.length ? perms : undefined;
}

function parsePercent(p: string | undefined): number {
  const n = Number.parseFloat((p ?? '0').replace('%', ''));
  return Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 0;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
