// Responsible for launching a workstation from an AMI: the request checked as EC2 would check it,
// the AMI resolved and the viewer's right to launch it decided before anything is sent, then one
// RunInstances in the AMI's region that tags the instance (and its disks) with the launching user,
// so the new instance is theirs to list and to capture again.
import { findAmi, type AmiRecord } from '../db/amis.js';
import type { ServiceDeps } from './context.js';
import { toDomainError } from './ec2/errors.js';
import type { FieldError } from './errors.js';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { summarizeInstance, type InstanceSummary } from './instances.js';
import { AMI_ID_PATTERN } from './validation.js';
import type { Viewer } from './viewer.js';

/** EC2's `family.size`: t3.micro, m7i-flex.large, c6gn.16xlarge, u-6tb1.metal, mac2-m2pro.metal. */
export const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*$/;
export const SUBNET_ID_PATTERN = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** EC2 takes tag values up to 256 characters; the Name tag is one. */
export const MAX_INSTANCE_NAME = 255;
export const MAX_KEY_NAME = 255;
const MAX_INSTANCE_TYPE = 64;

export interface LaunchRequest {
  amiId: string;
  instanceType: string;
  name?: string | null;
  subnetId?: string | null;
  keyName?: string | null;
}

export type LaunchService = ReturnType<typeof createLaunchService>;

export function createLaunchService(deps: ServiceDeps) {
  const log = deps.logger.child({ service: 'launches' });
  return {
    /** RunInstances from the viewer's own AMI or a community one; the new instance, pending. */
    async launch(viewer: Viewer, input: LaunchRequest): Promise<InstanceSummary> {
      const errors = validateLaunch(input);
      if (errors.length) throw new ValidationError(errors);
      const ami = await launchableAmi(deps, viewer, input.amiId);
      const instance = await deps.ec2
        .runInstances(ami.region, {
          imageId: ami.amiId,
          instanceType: input.instanceType,
          name: input.name ?? undefined,
          subnetId: input.subnetId ?? undefined,
          keyName: input.keyName ?? undefined,
          tags: [{ key: deps.access.ownerTag, value: viewer.user }],
        })
        .catch((err: unknown) => {
          throw toDomainError(err);
        });
      log.info({ amiId: ami.amiId, instanceId: instance.id, instanceType: input.instanceType, by: viewer.user }, 'launched');
      return summarizeInstance(deps, viewer, { instance, region: ami.region, sizeGiB: ami.sizeGiB ?? 0, lastAmi: undefined });
    },
  };
}

/** Every problem with a launch request, with paths relative to the mutation's `input`. */
export function validateLaunch(input: LaunchRequest): FieldError[] {
  const errors: FieldError[] = [];
  if (!AMI_ID_PATTERN.test(input.amiId)) {
    errors.push({ path: 'input.amiId', message: `"${input.amiId}" is not an AMI id (ami- and 8 or 17 hex digits)` });
  }
  if (input.instanceType.length > MAX_INSTANCE_TYPE || !INSTANCE_TYPE_PATTERN.test(input.instanceType)) {
    errors.push({
      path: 'input.instanceType',
      message: `"${input.instanceType}" is not an EC2 instance type (family.size, e.g. t3.micro, m7i-flex.large)`,
    });
  }
  if (input.name != null && (input.name.trim().length === 0 || input.name.length > MAX_INSTANCE_NAME)) {
    errors.push({ path: 'input.name', message: `must be 1 to ${MAX_INSTANCE_NAME} characters long (got ${input.name.length})` });
  }
  if (input.subnetId != null && !SUBNET_ID_PATTERN.test(input.subnetId)) {
    errors.push({ path: 'input.subnetId', message: `"${input.subnetId}" is not a subnet id (subnet- and 8 or 17 hex digits)` });
  }
  if (input.keyName != null && (input.keyName.length === 0 || input.keyName.length > MAX_KEY_NAME)) {
    errors.push({ path: 'input.keyName', message: `must be 1 to ${MAX_KEY_NAME} characters long (got ${input.keyName.length})` });
  }
  return errors;
}

/**
 * The viewer may launch their own AMIs and the community's; someone else's private or shared one
 * only through its owner (who can publish it or launch it for them). Only an available image runs.
 */
async function launchableAmi(deps: ServiceDeps, viewer: Viewer, amiId: string): Promise<AmiRecord> {
  const ami = await findAmi(deps.db, amiId);
  if (!ami) throw new NotFoundError('AMI_NOT_FOUND', `No AMI ${amiId} was created through prism-ami`);
  if (ami.owner !== viewer.user && ami.visibility !== 'PUBLIC') {
    throw new ForbiddenError(
      'FORBIDDEN',
      `AMI ${amiId} belongs to "${ami.owner}" and is not published to the community; ask them to publish it (publishAmi) to launch it`,
    );
  }
  if (ami.state !== 'AVAILABLE') {
    const why =
      ami.state === 'PENDING'
        ? 'is still being made; launch it once it is available'
        : `is ${ami.state.toLowerCase()}; only an available AMI can be launched`;
    throw new ValidationError([{ path: 'input.amiId', message: `AMI ${amiId} ${why}` }]);
  }
  return ami;
}
