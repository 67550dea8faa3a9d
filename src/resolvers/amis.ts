// Thin adapters from GraphQL arguments to the AMI service.
import type { AmiListFilter } from '../db/amis.js';
import type { Context } from './context.js';

type ListArgs = { first?: number | null; after?: string | null; filter?: AmiListFilter | null };

export const userAmis = (ctx: Context, args: ListArgs) => ctx.services.amis.listUser(ctx.viewer, args, ctx.snapshot);

export const communityAmis = (ctx: Context, args: ListArgs) => ctx.services.amis.listCommunity(args, ctx.snapshot);

export const publishAmi = (ctx: Context, input: { amiId: string; public: boolean }) =>
  ctx.services.amis.publish(ctx.viewer, input);

export const shareAmi = (ctx: Context, input: { amiId: string; accountIds: string[]; revoke?: boolean | null }) =>
  ctx.services.amis.share(ctx.viewer, input);

export const deregisterAmi = (ctx: Context, input: { amiId: string; deleteSnapshots?: boolean | null }) =>
  ctx.services.amis.deregister(ctx.viewer, input);

export const amiChanges = (ctx: Context) => ctx.services.amis.changes(ctx.viewer);

export const protectAmi = (ctx: Context, input: { amiId: string; enabled: boolean }) =>
  ctx.services.amis.protect(ctx.viewer, input);
