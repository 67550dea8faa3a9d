// Thin adapter from GraphQL arguments to the instance list.
import type { InstanceFilter } from '../services/instances.js';
import type { Context } from './context.js';

type ListArgs = { first?: number | null; after?: string | null; filter?: InstanceFilter | null };

export const instances = (ctx: Context, args: ListArgs) => ctx.services.instances.list(ctx.viewer, args);
