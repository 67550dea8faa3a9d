/**
 * An image's lifecycle settings: EnableImageDeprecation, DisableImageDeprecation,
 * EnableImageDeregistrationProtection, DisableImageDeregistrationProtection.
 */
import type {
  DisableImageDeprecationRequest,
  DisableImageDeprecationResult,
  DisableImageDeregistrationProtectionRequest,
  DisableImageDeregistrationProtectionResult,
  EnableImageDeprecationRequest,
  EnableImageDeprecationResult,
  EnableImageDeregistrationProtectionRequest,
  EnableImageDeregistrationProtectionResult,
} from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { errors } from '../errors.js';
import { DEREGISTRATION_COOLDOWN_MS, isPublic } from '../state.js';
import { ownImage } from './images.js';

const MINUTE_MS = 60_000;
const YEAR_MS = 365 * 24 * 60 * MINUTE_MS;

export function enableImageDeprecation(ctx: ActionContext, input: EnableImageDeprecationRequest): EnableImageDeprecationResult {
  const image = ownImage(ctx, input.ImageId ?? '');
  const requested = input.DeprecateAt;
  if (!(requested instanceof Date)) throw errors.missingParameter('DeprecateAt');
  // EC2 rounds the seconds to the nearest minute, then checks the bounds on the rounded time.
  const at = Math.round(requested.getTime() / MINUTE_MS) * MINUTE_MS;
  if (at <= ctx.now) {
    throw errors.invalidParameterValue(
      `The deprecation time ${requested.toISOString()} is in the past. Specify a time in the future.`,
    );
  }
  // Ten years from now at most; for a public image, two years from its creation.
  const limit = isPublic(image) ? image.createdAt + 2 * YEAR_MS : ctx.now + 10 * YEAR_MS;
  if (at > limit) {
    throw errors.invalidParameterValue(
      `The deprecation time ${requested.toISOString()} is too far in the future: the latest allowed is ${new Date(limit).toISOString()}.`,
    );
  }
  image.deprecateAt = at;
  return { Return: true };
}

export function disableImageDeprecation(
  ctx: ActionContext,
  input: DisableImageDeprecationRequest,
): DisableImageDeprecationResult {
  const image = ownImage(ctx, input.ImageId ?? '');
  delete image.deprecateAt;
  return { Return: true };
}

export function enableImageDeregistrationProtection(
  ctx: ActionContext,
  input: EnableImageDeregistrationProtectionRequest,
): EnableImageDeregistrationProtectionResult {
  const image = ownImage(ctx, input.ImageId ?? '');
  image.deregistrationProtection = { enabled: true, cooldown: input.WithCooldown === true };
  return { Return: 'true' };
}

/** With a cooldown, the image stays protected for 24 hours after this (EC2's "disabled-until-…"). */
export function disableImageDeregistrationProtection(
  ctx: ActionContext,
  input: DisableImageDeregistrationProtectionRequest,
): DisableImageDeregistrationProtectionResult {
  const image = ownImage(ctx, input.ImageId ?? '');
  const current = image.deregistrationProtection;
  if (current?.enabled && current.cooldown) {
    image.deregistrationProtection = { enabled: false, until: ctx.now + DEREGISTRATION_COOLDOWN_MS };
  } else if (current?.enabled) {
    delete image.deregistrationProtection;
  }
  return { Return: 'true' };
}
