/**
 * The action table: each EC2 action's handler and whether it mutates state (mutations are persisted,
 * and EC2's token buckets treat them separately from reads).
 */
import type { ActionContext } from '../context.js';
import type { Action } from '../model/actions.js';
import {
  disableImageDeprecation,
  disableImageDeregistrationProtection,
  enableImageDeprecation,
  enableImageDeregistrationProtection,
} from './image-settings.js';
import {
  copyImage,
  createImage,
  deregisterImage,
  describeImageAttribute,
  describeImages,
  getImageBlockPublicAccessState,
  modifyImageAttribute,
} from './images.js';
import {
  describeInstances,
  describeVolumes,
  runInstances,
  startInstances,
  stopInstances,
  terminateInstances,
} from './instances.js';
import { createKeyPair, deleteKeyPair, describeKeyPairs, describeSubnets } from './network.js';
import { describeRegions } from './regions.js';
import { deleteSnapshot, describeSnapshotAttribute, describeSnapshots, modifySnapshotAttribute } from './snapshots.js';
import { createTags, deleteTags } from './tags.js';

export interface ActionDef {
  mutating: boolean;
  handle(ctx: ActionContext, input: Record<string, unknown>): unknown;
}

// The decoder builds `input` from the action's own input shape in the botocore model, which is the
// shape the SDK's request type is generated from: the cast is to the type that describes it.
const def = <I>(mutating: boolean, handle: (ctx: ActionContext, input: I) => unknown): ActionDef => ({
  mutating,
  handle: (ctx, input) => handle(ctx, input as I),
});

export const ACTION_TABLE: Record<Action, ActionDef> = {
  DescribeInstances: def(false, describeInstances),
  RunInstances: def(true, runInstances),
  StopInstances: def(true, stopInstances),
  StartInstances: def(true, startInstances),
  TerminateInstances: def(true, terminateInstances),
  DescribeVolumes: def(false, describeVolumes),
  CreateImage: def(true, createImage),
  DescribeImages: def(false, describeImages),
  DescribeSnapshots: def(false, describeSnapshots),
  CopyImage: def(true, copyImage),
  DeregisterImage: def(true, deregisterImage),
  DeleteSnapshot: def(true, deleteSnapshot),
  ModifySnapshotAttribute: def(true, modifySnapshotAttribute),
  DescribeSnapshotAttribute: def(false, describeSnapshotAttribute),
  CreateTags: def(true, createTags),
  DeleteTags: def(true, deleteTags),
  ModifyImageAttribute: def(true, modifyImageAttribute),
  DescribeImageAttribute: def(false, describeImageAttribute),
  GetImageBlockPublicAccessState: def(false, getImageBlockPublicAccessState),
  DescribeRegions: def(false, describeRegions),
  DescribeSubnets: def(false, describeSubnets),
  CreateKeyPair: def(true, createKeyPair),
  DescribeKeyPairs: def(false, describeKeyPairs),
  DeleteKeyPair: def(true, deleteKeyPair),
  EnableImageDeprecation: def(true, enableImageDeprecation),
  DisableImageDeprecation: def(true, disableImageDeprecation),
  EnableImageDeregistrationProtection: def(true, enableImageDeregistrationProtection),
  DisableImageDeregistrationProtection: def(true, disableImageDeregistrationProtection),
};
