// Responsible for who may capture which instance. An instance belongs to the user its owner tag
// names; users capture their own, admins any. `INSTANCE_ACCESS=any` lets every user capture every
// instance (a single trusted lab). One decision, used by createAmi and by the instance list alike.
import type { Ec2Instance } from './ec2/types.js';
import type { Viewer } from './viewer.js';

export interface InstanceAccessPolicy {
  mode: 'owner' | 'any';
  /** The tag whose value names the instance's owner (`prism:owner` by default). */
  ownerTag: string;
}

/** EC2 makes an image only of a running or stopped instance. */
export function inCapturableState(instance: Pick<Ec2Instance, 'state'>): boolean {
  return instance.state === 'running' || instance.state === 'stopped';
}

export type CaptureDecision = { allowed: true } | { allowed: false; reason: string };

export function ownerOf(instance: Pick<Ec2Instance, 'tags'>, policy: InstanceAccessPolicy): string | undefined {
  return instance.tags.find((t) => t.key === policy.ownerTag)?.value;
}

/** Whether `viewer` may capture `instance`; when not, a sentence that names the tag to set. */
export function mayCapture(
  viewer: Viewer,
  instance: Pick<Ec2Instance, 'id' | 'tags'>,
  policy: InstanceAccessPolicy,
): CaptureDecision {
  if (policy.mode === 'any' || viewer.admin) return { allowed: true };
  const owner = ownerOf(instance, policy);
  if (owner === viewer.user) return { allowed: true };
  const fix = `set the tag ${policy.ownerTag}=${viewer.user} on the instance (or ask an admin to capture it)`;
  return {
    allowed: false,
    reason: owner
      ? `Instance ${instance.id} belongs to "${owner}" (tag ${policy.ownerTag}); you are "${viewer.user}". If it is yours, ${fix}.`
      : `Instance ${instance.id} has no ${policy.ownerTag} tag, so it belongs to no user; to capture it, ${fix}.`,
  };
}
