// Thin adapters from GraphQL arguments to the creation service.
import type { CreationStatus } from '../db/schema.js';
import type { CreateAmiRequest } from '../services/validation.js';
import type { Context } from './context.js';

export const createAmi = (ctx: Context, input: CreateAmiRequest) => ctx.services.creations.create(ctx.viewer, input);

export const cancelAmiCreation = (ctx: Context, id: string) => ctx.services.creations.cancel(ctx.viewer, id);

export const amiCreation = (ctx: Context, id: string) => ctx.services.creations.get(ctx.viewer, id);

export const amiStatus = (ctx: Context, ref: string) => ctx.services.creations.status(ctx.viewer, ref.trim());

export const amiCreations = (
  ctx: Context,
  args: { first?: number | null; after?: string | null; status?: CreationStatus | null },
) => ctx.services.creations.list(ctx.viewer, args);

export const amiProgress = (ctx: Context, id: string) => ctx.services.creations.watch(ctx.viewer, id);

export const amiCreationChanges = (ctx: Context, statuses: readonly CreationStatus[] | null | undefined) =>
  ctx.services.creations.changes(ctx.viewer, statuses);

/**
 * One loader per context (a request, or a subscription's lifetime), made on first use: the
 * creations of a page of AMIs are read in one query instead of one each.
 */
const creationLoaders = new WeakMap<Context, ReturnType<Context['services']['creations']['loader']>>();

/** The AMI records a creation produced, for `Ami.creation` (null where another user's). */
export const creationOfAmi = (ctx: Context, creationId: string | null) => {
  if (!creationId) return null;
  let loader = creationLoaders.get(ctx);
  if (!loader) creationLoaders.set(ctx, (loader = ctx.services.creations.loader(ctx.viewer)));
  return loader.load(creationId);
};
