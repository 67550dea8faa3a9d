// Thin adapters from GraphQL arguments to the instance list and to launches.
import type { InstanceFilter } from '../services/instances.js';
import type { LaunchRequest } from '../services/launches.js';
import type { Context } from './context.js';

type ListArgs = { first?: number | null; after?: string | null; filter?: InstanceFilter | null };

export const instances = (ctx: Context, args: ListArgs) => ctx.services.instances.list(ctx.viewer, args);

export const instance = (ctx: Context, args: { id: string; region?: string | null }) =>
  ctx.services.instances.get(ctx.viewer, args);

export const launchInstance = (ctx: Context, input: LaunchRequest) => ctx.services.launches.launch(ctx.viewer, input);
