// The instance list: the instances you may capture, with their size, storage cost and whether an
// AMI can be made from them now.
import type { Command } from 'commander';
import { InstancesDocument, type InstanceFilter, type InstancesQuery } from '../../generated/graphql/graphql.js';
import type { CommandContext, Runner } from '../context.js';
import { formatInstanceTable } from '../format.js';
import { parseInstanceState } from '../options.js';

interface InstancesOptions {
  state?: InstanceFilter['state'];
  nameContains?: string;
  json?: boolean;
}

const PAGE_SIZE = 100;

export function registerInstanceCommands(program: Command, run: Runner): void {
  program
    .command('instances')
    .description('List the instances you may capture in the source region (admins: all), without terminated ones')
    .option('--state <state>', 'only this state: pending, running, stopping, stopped, shutting-down', parseInstanceState)
    .option('--name-contains <text>', 'only instances whose Name tag contains this text (case-sensitive)')
    .option('--json', 'print the GraphQL data as JSON (all pages in one connection)')
    .action((opts: InstancesOptions, cmd: Command) => run(cmd, (ctx) => listInstances(ctx, opts)));
}

type Connection = InstancesQuery['instances'];

async function listInstances(ctx: CommandContext, opts: InstancesOptions): Promise<void> {
  const filter: InstanceFilter = { state: opts.state, nameContains: opts.nameContains };
  let connection: Connection | undefined;
  let after: string | null = null;
  // Follow the cursor so the list is complete; the server caps a page at 100.
  do {
    const page: Connection = (await ctx.client.request(InstancesDocument, { first: PAGE_SIZE, after, filter })).instances;
    connection = connection ? { ...page, edges: [...connection.edges, ...page.edges] } : page;
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);

  if (opts.json) return ctx.out.json({ instances: connection }, { pretty: true });
  const instances = connection.edges.map((e) => e.node);
  const which = [
    opts.state && `state ${opts.state.toLowerCase().replace('_', '-')}`,
    opts.nameContains && `name containing "${opts.nameContains}"`,
  ]
    .filter(Boolean)
    .join(', ');
  const matching = which ? ` matching ${which}` : '';
  if (instances.length === 0) return ctx.out.line(`No instances you may capture${matching}.`);
  ctx.out.line(`${instances.length} instance${instances.length === 1 ? '' : 's'}${matching}\n`);
  ctx.out.line(formatInstanceTable(instances));
}
