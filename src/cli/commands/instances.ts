// The instance list (the instances you may capture, with their size, storage cost and whether an
// AMI can be made from them now), and launching a workstation from an AMI.
import type { Command } from 'commander';
import {
  InstanceDocument,
  InstancesDocument,
  LaunchInstanceDocument,
  type InstanceFieldsFragment,
  type InstanceFilter,
  type InstancesQuery,
} from '../../generated/graphql/graphql.js';
import { expectSuccess } from '../client.js';
import type { CommandContext, Runner } from '../context.js';
import { CliError } from '../errors.js';
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

  program
    .command('launch')
    .description("Launch an instance from one of your AMIs or a community AMI, in the AMI's region, owned by you")
    .argument('<ami-id>', 'AMI id')
    .requiredOption('--type <instance-type>', 'EC2 instance type, e.g. t3.micro or m7i-flex.large')
    .option('--name <name>', 'Name tag of the new instance')
    .option('--subnet <subnet-id>', "subnet to launch in (default: the region's default subnet)")
    .option('--key-name <name>', 'EC2 key pair for SSH (must exist in the region)')
    .option('--wait', 'wait until the instance is running, and print how long it took')
    .option('--json', 'print the GraphQL data as JSON (with --wait: one line per value)')
    .action((amiId: string, opts: LaunchOptions, cmd: Command) => run(cmd, (ctx) => launch(ctx, amiId, opts)));
}

interface LaunchOptions {
  type: string;
  name?: string;
  subnet?: string;
  keyName?: string;
  wait?: boolean;
  json?: boolean;
}

/** How often --wait asks, and how long it waits at most (EC2 runs an instance in seconds to minutes). */
export const LAUNCH_POLL_MS = 1000;
const LAUNCH_WAIT_MS = 15 * 60_000;

async function launch(ctx: CommandContext, amiId: string, opts: LaunchOptions): Promise<void> {
  const started = performance.now();
  const input = { amiId, instanceType: opts.type, name: opts.name, subnetId: opts.subnet, keyName: opts.keyName };
  const data = await ctx.client.request(LaunchInstanceDocument, { input });
  if (opts.json) ctx.out.json(data, { pretty: !opts.wait });
  const { instance } = expectSuccess(data.launchInstance, 'LaunchInstanceSuccess');
  if (!opts.json) ctx.out.line(`Launched ${instance.instanceId} (${stateText(instance)}) from ${amiId} in ${instance.region}`);
  if (!opts.wait) return;
  const running = await untilRunning(ctx, instance);
  const seconds = (performance.now() - started) / 1000;
  if (opts.json) return ctx.out.json({ instance: running, secondsToRunning: Math.round(seconds * 10) / 10 });
  ctx.out.line(`${running.instanceId} running in ${seconds.toFixed(1)} s (launched from ${amiId})`);
}

function stateText(instance: InstanceFieldsFragment): string {
  const state = instance.state.toLowerCase().replace('_', '-');
  return instance.name ? `"${instance.name}", ${state}` : state;
}

/** Polls instance(id) in the instance's region until RUNNING; gone, or another state for good, is an error. */
async function untilRunning(ctx: CommandContext, launched: InstanceFieldsFragment): Promise<InstanceFieldsFragment> {
  const deadline = performance.now() + LAUNCH_WAIT_MS;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, LAUNCH_POLL_MS));
    const { instance } = await ctx.client.request(InstanceDocument, { id: launched.instanceId, region: launched.region });
    if (!instance) throw new CliError(`Instance ${launched.instanceId} is gone (terminated, or no longer yours)`);
    if (instance.state === 'RUNNING') return instance;
    if (instance.state !== 'PENDING')
      throw new CliError(`Instance ${launched.instanceId} is ${stateText(instance)}, not running`);
    if (performance.now() > deadline) {
      throw new CliError(
        `Instance ${launched.instanceId} is still pending after ${LAUNCH_WAIT_MS / 60_000} min; see the EC2 console`,
      );
    }
  }
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
