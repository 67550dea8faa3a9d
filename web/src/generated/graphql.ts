/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** The step a creation is at */
export type AmiCreationStage =
  /** Applying deprecation, deregistration protection, IMDSv2 and the SSM parameter to the images */
  | 'APPLYING_SETTINGS'
  /** Copying the AMI to other regions */
  | 'COPYING'
  /** Finished */
  | 'DONE'
  /** Copying the source image in its own region, encrypted; the unencrypted one is removed after */
  | 'ENCRYPTING'
  /** Applying launch permissions (public, shared accounts) */
  | 'PUBLISHING'
  /** EC2 is snapshotting the instance's volumes */
  | 'SNAPSHOTTING'
  /** Checking the request and asking EC2 for the image */
  | 'VALIDATING';

/** Where a creation (or one regional copy) stands */
export type AmiCreationStatus =
  /** Cancelled by the user; images made so far were removed */
  | 'CANCELLED'
  /** Done: every image is available */
  | 'COMPLETED'
  /** Ended without a usable AMI; see failureReason */
  | 'FAILED'
  /** EC2 is working on it */
  | 'IN_PROGRESS'
  /** The source AMI is available but at least one regional copy failed */
  | 'PARTIALLY_COMPLETED'
  /** Recorded; EC2 has not confirmed the image yet */
  | 'PENDING';

/** Narrow a list of AMIs; every given criterion must match */
export type AmiFilter = {
  /** Substring of the name (case-insensitive) */
  nameContains?: string | null | undefined;
  /** Only this region */
  region?: string | null | undefined;
  /** Only this state */
  state?: AmiState | null | undefined;
  /** All of these tags must match */
  tags?: Array<TagInput> | null | undefined;
  /** Only AMIs of this template */
  templateName?: string | null | undefined;
  /** Only this visibility */
  visibility?: AmiVisibility | null | undefined;
};

/** State of a registered image */
export type AmiState =
  /** Ready to launch */
  | 'AVAILABLE'
  /** Removed; kept in history */
  | 'DEREGISTERED'
  /** EC2 could not make the image */
  | 'FAILED'
  /** EC2 is still making the image (snapshots or copy in progress) */
  | 'PENDING';

/** Who may launch the image */
export type AmiVisibility =
  /** Only the owning account */
  | 'PRIVATE'
  /** Everyone; listed in communityAmis */
  | 'PUBLIC'
  /** The owning account and named accounts */
  | 'SHARED';

/** What to capture and what to do with the AMI */
export type CreateAmiInput = {
  /** Regions to copy the AMI to once it is available */
  copyToRegions?: Array<string> | null | undefined;
  /** Deprecate the AMI and every copy at this time (in the future; EC2 rounds to the minute) */
  deprecateAt?: string | null | undefined;
  /** Turn on deregistration protection for every image (protectAmi turns it off) */
  deregistrationProtection?: boolean | null | undefined;
  /** AMI description (up to 255 characters) */
  description?: string | null | undefined;
  /** Encrypt every resulting AMI with KMS keys */
  encryption?: EncryptionInput | null | undefined;
  /** A retry with the same key returns the first creation instead of a new one */
  idempotencyKey?: string | null | undefined;
  /** An instance id (i-...) or the value of the instance's Name tag */
  instance: string;
  /** AMI name: 3–128 letters, digits, spaces and ( ) [ ] . / - ' @ _ */
  name: string;
  /** Do not reboot the instance (the file systems may be inconsistent) */
  noReboot?: boolean | null | undefined;
  /** Make the AMI (and its copies) public once available */
  public?: boolean | null | undefined;
  /** Instances launched from the images must use IMDSv2 (ImdsSupport v2.0) */
  requireImdsV2?: boolean | null | undefined;
  /** Once the AMI is available, deregister the older AMIs of templateName beyond the newest keepLatest (needs templateName) */
  retention?: RetentionInput | null | undefined;
  /** 12-digit AWS account ids to grant launch permission to */
  shareWithAccounts?: Array<string> | null | undefined;
  /** Once each image is available, write its id to this SSM parameter in its region (DataType aws:ec2:image, overwritten), e.g. /prism/gpu-base/latest */
  ssmParameter?: string | null | undefined;
  /** Tags for the AMI and its snapshots */
  tags?: Array<TagInput> | null | undefined;
  /** Template to associate the AMI with */
  templateName?: string | null | undefined;
};

/** Remove one region's AMI */
export type DeregisterAmiInput = {
  /** The AMI id */
  amiId: string;
  /** Also delete its EBS snapshots (stops their storage cost) */
  deleteSnapshots?: boolean | null | undefined;
};

/** What the server talks to */
export type Ec2Backend =
  /** AWS or an EC2-compatible endpoint (moto, LocalStack) */
  | 'AWS'
  /** The built-in EC2 simulator: no AWS calls are made */
  | 'SIMULATOR';

/** Encrypt every resulting AMI, the source region's included: the source image is copied in its own region with the key, then the unencrypted one is removed */
export type EncryptionInput = {
  /** The key for the source region (and, for a multi-Region key, its replicas); omitted: the AWS managed key, which cannot be shared */
  kmsKeyId?: string | null | undefined;
  /** The key of each copy region; needed for every copy region whose key cannot be derived from kmsKeyId */
  regionKmsKeyIds?: Array<RegionKmsKeyInput> | null | undefined;
};

/** Machine-readable reason of an expected failure */
export type ErrorCode =
  /** The account already has an AMI with that name in the region */
  | 'AMI_NAME_TAKEN'
  /** No AMI with that id was created through prism-ami */
  | 'AMI_NOT_FOUND'
  /** The AMI is not in a state that allows the operation (e.g. not available yet) */
  | 'AMI_STATE_INVALID'
  /** The creation has already ended */
  | 'CREATION_FINISHED'
  /** No creation with that id (or it is another user's) */
  | 'CREATION_NOT_FOUND'
  /** EC2 refused or failed the request (see ec2Code) */
  | 'EC2_ERROR'
  /** The instance, AMI or creation belongs to another user (or its owner tag names someone else) */
  | 'FORBIDDEN'
  /** Several instances carry that Name tag; pass the instance id */
  | 'INSTANCE_AMBIGUOUS'
  /** No instance with that id or Name tag in the source region */
  | 'INSTANCE_NOT_FOUND'
  /** The instance is neither running nor stopped */
  | 'INSTANCE_STATE_INVALID'
  /** A per-user limit was reached (for example active creations); the message names it and how to go on */
  | 'LIMIT_EXCEEDED'
  /** The account's block public access for AMIs setting forbids publishing */
  | 'PUBLIC_ACCESS_BLOCKED'
  /** The input is invalid (see fieldErrors); nothing was changed */
  | 'VALIDATION_FAILED';

/** State of an EC2 instance (terminated instances are never listed) */
export type InstanceState =
  /** Starting; not yet capturable */
  | 'PENDING'
  /** Running; capturable */
  | 'RUNNING'
  /** Being terminated */
  | 'SHUTTING_DOWN'
  /** Stopped; capturable */
  | 'STOPPED'
  /** Stopping; not capturable until stopped */
  | 'STOPPING';

/** Launch a workstation from an AMI */
export type LaunchInstanceInput = {
  /** The AMI id: one of the viewer's own AMIs or a community AMI, available */
  amiId: string;
  /** EC2 instance type (family.size), e.g. t3.micro or m7i-flex.large */
  instanceType: string;
  /** EC2 key pair for SSH, which must exist in the AMI's region */
  keyName?: string | null | undefined;
  /** Name tag of the new instance (at most 255 characters) */
  name?: string | null | undefined;
  /** Subnet to launch in (subnet-...); default: the region's default subnet */
  subnetId?: string | null | undefined;
};

/** Turn one region's deregistration protection on or off */
export type ProtectAmiInput = {
  /** The AMI id */
  amiId: string;
  /** true: deregisterAmi (and EC2 DeregisterImage) refuses the AMI; false: it may be deregistered again */
  enabled: boolean;
};

/** Make an AMI (and its copies) public, or private again */
export type PublishAmiInput = {
  /** The AMI id (any region of the creation) */
  amiId: string;
  /** true: public and listed in communityAmis; false: private again and unlisted */
  public: boolean;
};

/** The KMS key to encrypt the copy in one region with */
export type RegionKmsKeyInput = {
  /** Key id, key ARN, alias name (alias/…) or alias ARN, in that region */
  kmsKeyId: string;
  /** A region of copyToRegions */
  region: string;
};

/** Keep only the newest AMIs of the creation's template once this one is available */
export type RetentionInput = {
  /** 1..100: how many of your newest AMIs of templateName to keep, this one included. Older ones are deregistered in every region and their snapshots deleted; public ones are kept */
  keepLatest: number;
};

/** Grant (or revoke) launch permission to accounts */
export type ShareAmiInput = {
  /** 12-digit AWS account ids */
  accountIds: Array<string>;
  /** The AMI id (any region of the creation) */
  amiId: string;
  /** true removes these accounts' launch permission instead of adding it */
  revoke?: boolean | null | undefined;
};

/** A tag: key 1–127 characters (no aws: or prism: prefix), value up to 256 */
export type TagInput = {
  /** Tag key */
  key: string;
  /** Tag value */
  value: string;
};

export type WebSessionQueryVariables = Exact<{ [key: string]: never; }>;


export type WebSessionQuery = { viewer: { user: string }, serverInfo: { version: string, ec2Backend: Ec2Backend, sourceRegion: string } };

export type WebCreationsQueryVariables = Exact<{
  first?: number | null | undefined;
}>;


export type WebCreationsQuery = { amiCreations: { totalCount: number, edges: Array<{ node: { id: string, name: string, description: string | null, templateName: string | null, instanceId: string, sourceRegion: string, amiId: string | null, status: AmiCreationStatus, stage: AmiCreationStage, progress: number, message: string, failureReason: string | null, public: boolean, createdAt: string, completedAt: string | null, elapsedSeconds: number, estimatedSecondsRemaining: number | null, tags: Array<{ key: string, value: string }>, regions: Array<{ region: string, amiId: string | null, status: AmiCreationStatus, progress: number, message: string | null, queuedAt: string | null }> } }> } };

export type WebUserAmisQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: AmiFilter | null | undefined;
}>;


export type WebUserAmisQuery = { userAmis: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }> } };

export type WebCommunityAmisQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: AmiFilter | null | undefined;
}>;


export type WebCommunityAmisQuery = { communityAmis: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }> } };

export type WebCreationChangesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type WebCreationChangesSubscription = { amiCreationChanges: { id: string, name: string, description: string | null, templateName: string | null, instanceId: string, sourceRegion: string, amiId: string | null, status: AmiCreationStatus, stage: AmiCreationStage, progress: number, message: string, failureReason: string | null, public: boolean, createdAt: string, completedAt: string | null, elapsedSeconds: number, estimatedSecondsRemaining: number | null, tags: Array<{ key: string, value: string }>, regions: Array<{ region: string, amiId: string | null, status: AmiCreationStatus, progress: number, message: string | null, queuedAt: string | null }> } };

export type WebAmiChangesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type WebAmiChangesSubscription = { amiChanges: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } };

export type WebCreateAmiMutationVariables = Exact<{
  input: CreateAmiInput;
}>;


export type WebCreateAmiMutation = { createAmi:
    | { __typename: 'ConflictError', message: string, code: ErrorCode }
    | { __typename: 'CreateAmiSuccess', creation: { id: string, name: string, description: string | null, templateName: string | null, instanceId: string, sourceRegion: string, amiId: string | null, status: AmiCreationStatus, stage: AmiCreationStage, progress: number, message: string, failureReason: string | null, public: boolean, createdAt: string, completedAt: string | null, elapsedSeconds: number, estimatedSecondsRemaining: number | null, tags: Array<{ key: string, value: string }>, regions: Array<{ region: string, amiId: string | null, status: AmiCreationStatus, progress: number, message: string | null, queuedAt: string | null }> } }
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'InvalidStateError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebCancelCreationMutationVariables = Exact<{
  id: string | number;
}>;


export type WebCancelCreationMutation = { cancelAmiCreation:
    | { __typename: 'CancelAmiCreationSuccess', creation: { id: string, name: string, description: string | null, templateName: string | null, instanceId: string, sourceRegion: string, amiId: string | null, status: AmiCreationStatus, stage: AmiCreationStage, progress: number, message: string, failureReason: string | null, public: boolean, createdAt: string, completedAt: string | null, elapsedSeconds: number, estimatedSecondsRemaining: number | null, tags: Array<{ key: string, value: string }>, regions: Array<{ region: string, amiId: string | null, status: AmiCreationStatus, progress: number, message: string | null, queuedAt: string | null }> } }
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'InvalidStateError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
   };

export type WebPublishAmiMutationVariables = Exact<{
  input: PublishAmiInput;
}>;


export type WebPublishAmiMutation = { publishAmi:
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'InvalidStateError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'PublishAmiSuccess', ami: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebShareAmiMutationVariables = Exact<{
  input: ShareAmiInput;
}>;


export type WebShareAmiMutation = { shareAmi:
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'ShareAmiSuccess', ami: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebProtectAmiMutationVariables = Exact<{
  input: ProtectAmiInput;
}>;


export type WebProtectAmiMutation = { protectAmi:
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'InvalidStateError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'ProtectAmiSuccess', ami: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebDeregisterAmiMutationVariables = Exact<{
  input: DeregisterAmiInput;
}>;


export type WebDeregisterAmiMutation = { deregisterAmi:
    | { __typename: 'DeregisterAmiSuccess', ami: { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'InvalidStateError', message: string, code: ErrorCode }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebInstancesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type WebInstancesQuery = { instances: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { instanceId: string, name: string | null, state: InstanceState, sizeGiB: number, storageMonthlyUsd: number, capturable: boolean, capturableReason: string | null, lastAmi: { amiId: string, name: string } | null } }> } };

export type WebLaunchInstanceMutationVariables = Exact<{
  input: LaunchInstanceInput;
}>;


export type WebLaunchInstanceMutation = { launchInstance:
    | { __typename: 'Ec2Error', message: string, code: ErrorCode }
    | { __typename: 'ForbiddenError', message: string, code: ErrorCode }
    | { __typename: 'LaunchInstanceSuccess', instance: { instanceId: string, name: string | null, state: InstanceState, region: string } }
    | { __typename: 'NotFoundError', message: string, code: ErrorCode }
    | { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> }
   };

export type WebInstanceQueryVariables = Exact<{
  id: string;
  region?: string | null | undefined;
}>;


export type WebInstanceQuery = { instance: { instanceId: string, name: string | null, state: InstanceState, region: string } | null };

export type WebCreationFragment = { id: string, name: string, description: string | null, templateName: string | null, instanceId: string, sourceRegion: string, amiId: string | null, status: AmiCreationStatus, stage: AmiCreationStage, progress: number, message: string, failureReason: string | null, public: boolean, createdAt: string, completedAt: string | null, elapsedSeconds: number, estimatedSecondsRemaining: number | null, tags: Array<{ key: string, value: string }>, regions: Array<{ region: string, amiId: string | null, status: AmiCreationStatus, progress: number, message: string | null, queuedAt: string | null }> };

export type WebAmiFragment = { id: string, amiId: string, region: string, name: string, description: string | null, architecture: string | null, state: AmiState, visibility: AmiVisibility, createdAt: string, sizeGiB: number | null, templateName: string | null, publisher: string, deregisteredReason: string | null, encrypted: boolean, kmsKeyId: string | null, deprecationTime: string | null, deregistrationProtection: boolean, imdsSupport: string | null, ssmParameter: string | null, tags: Array<{ key: string, value: string }> };

type WebError_ConflictError_Fragment = { __typename: 'ConflictError', message: string, code: ErrorCode };

type WebError_Ec2Error_Fragment = { __typename: 'Ec2Error', message: string, code: ErrorCode };

type WebError_ForbiddenError_Fragment = { __typename: 'ForbiddenError', message: string, code: ErrorCode };

type WebError_InvalidStateError_Fragment = { __typename: 'InvalidStateError', message: string, code: ErrorCode };

type WebError_NotFoundError_Fragment = { __typename: 'NotFoundError', message: string, code: ErrorCode };

type WebError_ValidationError_Fragment = { __typename: 'ValidationError', message: string, code: ErrorCode, fieldErrors: Array<{ path: string, message: string }> };

export type WebErrorFragment =
  | WebError_ConflictError_Fragment
  | WebError_Ec2Error_Fragment
  | WebError_ForbiddenError_Fragment
  | WebError_InvalidStateError_Fragment
  | WebError_NotFoundError_Fragment
  | WebError_ValidationError_Fragment
;

export type WebLaunchedInstanceFragment = { instanceId: string, name: string | null, state: InstanceState, region: string };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const WebCreationFragmentDoc = new TypedDocumentString(`
    fragment WebCreation on AmiCreation {
  id
  name
  description
  templateName
  instanceId
  sourceRegion
  amiId
  status
  stage
  progress
  message
  failureReason
  public
  tags {
    key
    value
  }
  regions {
    region
    amiId
    status
    progress
    message
    queuedAt
  }
  createdAt
  completedAt
  elapsedSeconds
  estimatedSecondsRemaining
}
    `, {"fragmentName":"WebCreation"}) as unknown as TypedDocumentString<WebCreationFragment, unknown>;
export const WebAmiFragmentDoc = new TypedDocumentString(`
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}
    `, {"fragmentName":"WebAmi"}) as unknown as TypedDocumentString<WebAmiFragment, unknown>;
export const WebErrorFragmentDoc = new TypedDocumentString(`
    fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}
    `, {"fragmentName":"WebError"}) as unknown as TypedDocumentString<WebErrorFragment, unknown>;
export const WebLaunchedInstanceFragmentDoc = new TypedDocumentString(`
    fragment WebLaunchedInstance on Instance {
  instanceId
  name
  state
  region
}
    `, {"fragmentName":"WebLaunchedInstance"}) as unknown as TypedDocumentString<WebLaunchedInstanceFragment, unknown>;
export const WebSessionDocument = new TypedDocumentString(`
    query WebSession {
  viewer {
    user
  }
  serverInfo {
    version
    ec2Backend
    sourceRegion
  }
}
    `) as unknown as TypedDocumentString<WebSessionQuery, WebSessionQueryVariables>;
export const WebCreationsDocument = new TypedDocumentString(`
    query WebCreations($first: Int) {
  amiCreations(first: $first) {
    totalCount
    edges {
      node {
        ...WebCreation
      }
    }
  }
}
    fragment WebCreation on AmiCreation {
  id
  name
  description
  templateName
  instanceId
  sourceRegion
  amiId
  status
  stage
  progress
  message
  failureReason
  public
  tags {
    key
    value
  }
  regions {
    region
    amiId
    status
    progress
    message
    queuedAt
  }
  createdAt
  completedAt
  elapsedSeconds
  estimatedSecondsRemaining
}`) as unknown as TypedDocumentString<WebCreationsQuery, WebCreationsQueryVariables>;
export const WebUserAmisDocument = new TypedDocumentString(`
    query WebUserAmis($first: Int, $after: String, $filter: AmiFilter) {
  userAmis(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        ...WebAmi
      }
    }
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}`) as unknown as TypedDocumentString<WebUserAmisQuery, WebUserAmisQueryVariables>;
export const WebCommunityAmisDocument = new TypedDocumentString(`
    query WebCommunityAmis($first: Int, $after: String, $filter: AmiFilter) {
  communityAmis(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        ...WebAmi
      }
    }
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}`) as unknown as TypedDocumentString<WebCommunityAmisQuery, WebCommunityAmisQueryVariables>;
export const WebCreationChangesDocument = new TypedDocumentString(`
    subscription WebCreationChanges {
  amiCreationChanges {
    ...WebCreation
  }
}
    fragment WebCreation on AmiCreation {
  id
  name
  description
  templateName
  instanceId
  sourceRegion
  amiId
  status
  stage
  progress
  message
  failureReason
  public
  tags {
    key
    value
  }
  regions {
    region
    amiId
    status
    progress
    message
    queuedAt
  }
  createdAt
  completedAt
  elapsedSeconds
  estimatedSecondsRemaining
}`) as unknown as TypedDocumentString<WebCreationChangesSubscription, WebCreationChangesSubscriptionVariables>;
export const WebAmiChangesDocument = new TypedDocumentString(`
    subscription WebAmiChanges {
  amiChanges {
    ...WebAmi
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}`) as unknown as TypedDocumentString<WebAmiChangesSubscription, WebAmiChangesSubscriptionVariables>;
export const WebCreateAmiDocument = new TypedDocumentString(`
    mutation WebCreateAmi($input: CreateAmiInput!) {
  createAmi(input: $input) {
    __typename
    ... on CreateAmiSuccess {
      creation {
        ...WebCreation
      }
    }
    ...WebError
  }
}
    fragment WebCreation on AmiCreation {
  id
  name
  description
  templateName
  instanceId
  sourceRegion
  amiId
  status
  stage
  progress
  message
  failureReason
  public
  tags {
    key
    value
  }
  regions {
    region
    amiId
    status
    progress
    message
    queuedAt
  }
  createdAt
  completedAt
  elapsedSeconds
  estimatedSecondsRemaining
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebCreateAmiMutation, WebCreateAmiMutationVariables>;
export const WebCancelCreationDocument = new TypedDocumentString(`
    mutation WebCancelCreation($id: ID!) {
  cancelAmiCreation(id: $id) {
    __typename
    ... on CancelAmiCreationSuccess {
      creation {
        ...WebCreation
      }
    }
    ...WebError
  }
}
    fragment WebCreation on AmiCreation {
  id
  name
  description
  templateName
  instanceId
  sourceRegion
  amiId
  status
  stage
  progress
  message
  failureReason
  public
  tags {
    key
    value
  }
  regions {
    region
    amiId
    status
    progress
    message
    queuedAt
  }
  createdAt
  completedAt
  elapsedSeconds
  estimatedSecondsRemaining
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebCancelCreationMutation, WebCancelCreationMutationVariables>;
export const WebPublishAmiDocument = new TypedDocumentString(`
    mutation WebPublishAmi($input: PublishAmiInput!) {
  publishAmi(input: $input) {
    __typename
    ... on PublishAmiSuccess {
      ami {
        ...WebAmi
      }
    }
    ...WebError
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebPublishAmiMutation, WebPublishAmiMutationVariables>;
export const WebShareAmiDocument = new TypedDocumentString(`
    mutation WebShareAmi($input: ShareAmiInput!) {
  shareAmi(input: $input) {
    __typename
    ... on ShareAmiSuccess {
      ami {
        ...WebAmi
      }
    }
    ...WebError
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebShareAmiMutation, WebShareAmiMutationVariables>;
export const WebProtectAmiDocument = new TypedDocumentString(`
    mutation WebProtectAmi($input: ProtectAmiInput!) {
  protectAmi(input: $input) {
    __typename
    ... on ProtectAmiSuccess {
      ami {
        ...WebAmi
      }
    }
    ...WebError
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebProtectAmiMutation, WebProtectAmiMutationVariables>;
export const WebDeregisterAmiDocument = new TypedDocumentString(`
    mutation WebDeregisterAmi($input: DeregisterAmiInput!) {
  deregisterAmi(input: $input) {
    __typename
    ... on DeregisterAmiSuccess {
      ami {
        ...WebAmi
      }
    }
    ...WebError
  }
}
    fragment WebAmi on Ami {
  id
  amiId
  region
  name
  description
  architecture
  state
  visibility
  createdAt
  sizeGiB
  templateName
  publisher
  deregisteredReason
  encrypted
  kmsKeyId
  deprecationTime
  deregistrationProtection
  imdsSupport
  ssmParameter
  tags {
    key
    value
  }
}
fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}`) as unknown as TypedDocumentString<WebDeregisterAmiMutation, WebDeregisterAmiMutationVariables>;
export const WebInstancesDocument = new TypedDocumentString(`
    query WebInstances($first: Int, $after: String) {
  instances(first: $first, after: $after) {
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        instanceId
        name
        state
        sizeGiB
        storageMonthlyUsd
        capturable
        capturableReason
        lastAmi {
          amiId
          name
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<WebInstancesQuery, WebInstancesQueryVariables>;
export const WebLaunchInstanceDocument = new TypedDocumentString(`
    mutation WebLaunchInstance($input: LaunchInstanceInput!) {
  launchInstance(input: $input) {
    __typename
    ... on LaunchInstanceSuccess {
      instance {
        ...WebLaunchedInstance
      }
    }
    ...WebError
  }
}
    fragment WebError on Error {
  __typename
  message
  code
  ... on ValidationError {
    fieldErrors {
      path
      message
    }
  }
}
fragment WebLaunchedInstance on Instance {
  instanceId
  name
  state
  region
}`) as unknown as TypedDocumentString<WebLaunchInstanceMutation, WebLaunchInstanceMutationVariables>;
export const WebInstanceDocument = new TypedDocumentString(`
    query WebInstance($id: String!, $region: String) {
  instance(id: $id, region: $region) {
    ...WebLaunchedInstance
  }
}
    fragment WebLaunchedInstance on Instance {
  instanceId
  name
  state
  region
}`) as unknown as TypedDocumentString<WebInstanceQuery, WebInstanceQueryVariables>;