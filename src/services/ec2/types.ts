// Plain shapes the gateway returns, so services never see SDK types.

export interface Tag {
  key: string;
  value: string;
}

export interface Ec2Instance {
  id: string;
  name: string | undefined;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  architecture: string | undefined;
  volumeIds: string[];
  tags: Tag[];
  /** ISO-8601 LaunchTime, when EC2 reports one. */
  launchedAt?: string | undefined;
}

/** One EC2 filter: the values are OR-ed and may hold `*` and `?` wildcards (`\` escapes them). */
export interface Ec2Filter {
  name: string;
  values: string[];
}

/** One page of DescribeInstances: EC2 decides its length (at most maxResults, perhaps fewer, perhaps none). */
export interface Ec2InstancePage {
  instances: Ec2Instance[];
  /** Where the next page starts; undefined on the last page. */
  nextToken: string | undefined;
}

export interface Ec2Volume {
  id: string;
  sizeGiB: number;
  encrypted: boolean;
}

export interface Ec2Image {
  id: string;
  name: string;
  description: string | undefined;
  /** pending | available | invalid | deregistered | transient | failed | error | disabled */
  state: string;
  stateReason: string | undefined;
  architecture: string | undefined;
  public: boolean;
  ownerId: string | undefined;
  snapshotIds: string[];
  sizeGiB: number;
  encrypted: boolean;
  /**
   * The KMS key of its encrypted snapshots when DescribeImages names it in the block device
   * mappings; EC2 usually names it only on the snapshots (Ec2Snapshot.kmsKeyId).
   */
  kmsKeyId: string | undefined;
  tags: Tag[];
  createdAt: string | undefined;
  /** ISO-8601 DeprecationTime, when deprecation is scheduled. */
  deprecationTime: string | undefined;
  /** EC2 answers "enabled", "enabled-with-cooldown" or "disabled"; both enabled forms refuse DeregisterImage. */
  deregistrationProtection: boolean;
  /** "v2.0" when instances launched from it must use IMDSv2. */
  imdsSupport: string | undefined;
}

export interface Ec2Snapshot {
  id: string;
  /** pending | completed | error | recoverable | recovering */
  state: string;
  /** 0..100 */
  progress: number;
  volumeSizeGiB: number;
  stateMessage: string | undefined;
  /** The key ARN that encrypts it (DescribeSnapshots KmsKeyId); undefined when unencrypted. */
  kmsKeyId?: string | undefined;
}

export interface LaunchPermissionChange {
  group?: 'all';
  userIds?: string[];
}

/** What RunInstances launches: one instance of one image, tagged (instance and volumes) as given. */
export interface RunInstancesParams {
  imageId: string;
  instanceType: string;
  /** The Name tag of the instance (and its volumes). */
  name?: string | undefined;
  subnetId?: string | undefined;
  keyName?: string | undefined;
  /** Tags of the instance and of its volumes, besides Name. */
  tags: Tag[];
  /** Makes a repeated request launch nothing more (EC2 answers the first launch again). */
  clientToken?: string | undefined;
}

export type BlockPublicAccessState = 'unblocked' | 'block-new-sharing' | 'unsupported';

/** The EC2 operations the service needs, one region per call. Implemented over the real SDK. */
export interface Ec2Gateway {
  describeInstances(region: string, query: { ids?: string[]; nameTag?: string }): Promise<Ec2Instance[]>;
  /** One DescribeInstances request: EC2-side filters, MaxResults (5..1000) and NextToken. */
  listInstances(
    region: string,
    query: { filters: Ec2Filter[]; maxResults: number; nextToken?: string | undefined },
  ): Promise<Ec2InstancePage>;
  describeVolumes(region: string, ids: string[]): Promise<Ec2Volume[]>;
  /** As describeVolumes, but unknown ids are absent from the answer (a `volume-id` filter, not VolumeIds). */
  findVolumes(region: string, ids: string[]): Promise<Ec2Volume[]>;
  /** Images owned by this account. Unknown ids are absent from the answer (filters, not ImageIds). */
  findImages(
    region: string,
    query: { ids?: string[]; name?: string; tag?: { key: string; values: string[] } },
  ): Promise<Ec2Image[]>;
  /** Unknown ids are absent from the answer. */
  describeSnapshots(region: string, ids: string[]): Promise<Ec2Snapshot[]>;
  createImage(
    region: string,
    params: { instanceId: string; name: string; description?: string; noReboot: boolean; tags: Tag[] },
  ): Promise<string>;
  copyImage(
    region: string,
    params: {
      sourceRegion: string;
      sourceImageId: string;
      name: string;
      description?: string;
      clientToken: string;
      tags: Tag[];
      /** Encrypt the copy's snapshots, with kmsKeyId (none: the AWS managed key of the destination region). */
      encrypted?: boolean;
      kmsKeyId?: string;
    },
  ): Promise<string>;
  /** One instance (MinCount = MaxCount = 1), as RunInstances answers it: pending. */
  runInstances(region: string, params: RunInstancesParams): Promise<Ec2Instance>;
  createTags(region: string, resourceIds: string[], tags: Tag[]): Promise<void>;
  deleteTags(region: string, resourceIds: string[], keys: string[]): Promise<void>;
  deregisterImage(region: string, imageId: string): Promise<void>;
  /** EnableImageDeprecation: EC2 deprecates the image at `at` (epoch ms; EC2 rounds it down to the minute). */
  enableImageDeprecation(region: string, imageId: string, at: number): Promise<void>;
  /** EnableImageDeregistrationProtection (without cooldown): DeregisterImage is refused until it is disabled. */
  enableDeregistrationProtection(region: string, imageId: string): Promise<void>;
  disableDeregistrationProtection(region: string, imageId: string): Promise<void>;
  /** ModifyImageAttribute ImdsSupport=v2.0: instances launched from the image require IMDSv2 (EC2 cannot undo it). */
  setImdsSupport(region: string, imageId: string): Promise<void>;
  deleteSnapshot(region: string, snapshotId: string): Promise<void>;
  modifyLaunchPermission(
    region: string,
    imageId: string,
    change: { add?: LaunchPermissionChange; remove?: LaunchPermissionChange },
  ): Promise<void>;
  modifySnapshotCreateVolumePermission(
    region: string,
    snapshotId: string,
    change: { add?: string[]; remove?: string[] },
  ): Promise<void>;
  getImageBlockPublicAccessState(region: string): Promise<BlockPublicAccessState>;
  describeRegions(): Promise<string[]>;
  /** EC2 requests sent so far by this gateway (one per command; a batch of more than 1000 ids is several). */
  callCount(): number;
}
