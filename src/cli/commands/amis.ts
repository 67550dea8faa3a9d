// Commands about registered AMIs: list, publish, share, protect, delete.
import type { Command } from 'commander';
import type { AmiFilter, TagInput, UserAmisQuery } from '../../generated/graphql/graphql.js';
import {
  CommunityAmisDocument,
  DeregisterAmiDocument,
  ProtectAmiDocument,
  PublishAmiDocument,
  ShareAmiDocument,
  UserAmisDocument,
} from '../../generated/graphql/graphql.js';
import { expectSuccess } from '../client.js';
import type { CommandContext, Runner } from '../context.js';
import { formatAmi } from '../format.js';
import { collectTag } from '../options.js';

interface ListOptions {
  tag?: TagInput[];
  region?: string;
  template?: string;
  nameContains?: string;
  community?: boolean;
  json?: boolean;
}

const PAGE_SIZE = 100;

export function registerAmiCommands(program: Command, run: Runner): void {
  program
    .command('list')
    .description("List your AMIs (one entry per region), or the community's with --community")
    .option('--tag <key=value>', 'only AMIs with this tag (repeatable; all must match)', collectTag)
    .option('--region <region>', 'only this region')
    .option('--template <name>', 'only AMIs of this template')
    .option('--name-contains <text>', 'only names containing this text')
    .option('--community', 'list AMIs published to the community instead of your own')
    .option('--json', 'print the GraphQL data as JSON (all pages in one connection)')
    .action((opts: ListOptions, cmd: Command) => run(cmd, (ctx) => list(ctx, opts)));

  program
    .command('publish')
    .description('Publish an AMI (and its copies) to the community, or make it private again')
    .argument('<ami-id>', 'AMI id (any region of the creation)')
    .option('--private', 'unpublish: private again and unlisted')
    .option('--json', 'print the GraphQL data as JSON')
    .action((amiId: string, opts: { private?: boolean; json?: boolean }, cmd: Command) =>
      run(cmd, async (ctx) => {
        const data = await ctx.client.request(PublishAmiDocument, { input: { amiId, public: !opts.private } });
        if (opts.json) ctx.out.json(data, { pretty: true });
        const { ami } = expectSuccess(data.publishAmi, 'PublishAmiSuccess');
        if (opts.json) return;
        ctx.out.line(
          opts.private
            ? `${ami.amiId} is private again (${ami.visibility})`
            : `Published ${ami.amiId} to the community (${ami.visibility})`,
        );
        ctx.out.line(formatAmi(ami));
      }),
    );

  program
    .command('share')
    .description('Grant accounts launch permission on an AMI (and its copies), or revoke it')
    .argument('<ami-id>', 'AMI id (any region of the creation)')
    .argument('<account...>', '12-digit AWS account ids')
    .option('--revoke', "remove these accounts' launch permission instead")
    .option('--json', 'print the GraphQL data as JSON')
    .action((amiId: string, accountIds: string[], opts: { revoke?: boolean; json?: boolean }, cmd: Command) =>
      run(cmd, async (ctx) => {
        const data = await ctx.client.request(ShareAmiDocument, { input: { amiId, accountIds, revoke: opts.revoke ?? false } });
        if (opts.json) ctx.out.json(data, { pretty: true });
        const { ami } = expectSuccess(data.shareAmi, 'ShareAmiSuccess');
        if (opts.json) return;
        const who = accountIds.join(', ');
        ctx.out.line(
          opts.revoke
            ? `Revoked launch permission of ${who} on ${ami.amiId} (${ami.visibility})`
            : `Shared ${ami.amiId} with ${who} (${ami.visibility})`,
        );
      }),
    );

  registerProtectCommand(program, run);

  program
    .command('delete')
    .description("Deregister one region's AMI and delete its snapshots")
    .argument('<ami-id>', 'AMI id')
    .option('--keep-snapshots', 'keep the EBS snapshots (they go on costing storage)')
    .option('--json', 'print the GraphQL data as JSON')
    .action((amiId: string, opts: { keepSnapshots?: boolean; json?: boolean }, cmd: Command) =>
      run(cmd, async (ctx) => {
        const data = await ctx.client.request(DeregisterAmiDocument, { input: { amiId, deleteSnapshots: !opts.keepSnapshots } });
        if (opts.json) ctx.out.json(data, { pretty: true });
        const { ami } = expectSuccess(data.deregisterAmi, 'DeregisterAmiSuccess');
        if (opts.json) return;
        const snapshots = opts.keepSnapshots ? 'snapshots kept' : 'snapshots deleted';
        ctx.out.line(`Deregistered ${ami.amiId} ("${ami.name}") in ${ami.region}; ${snapshots}`);
      }),
    );
}

/** protect has its own register function: registerAmiCommands would otherwise outgrow a screen. */
function registerProtectCommand(program: Command, run: Runner): void {
  program
    .command('protect')
    .description("Turn an AMI's deregistration protection on (delete refuses it), or off with --off")
    .argument('<ami-id>', "AMI id (one region's image: each copy has its own protection)")
    .option('--off', 'lift the protection, so that the AMI can be deleted again')
    .option('--json', 'print the GraphQL data as JSON')
    .action((amiId: string, opts: { off?: boolean; json?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => protect(ctx, amiId, opts)),
    );
}

async function protect(ctx: CommandContext, amiId: string, opts: { off?: boolean; json?: boolean }): Promise<void> {
  const data = await ctx.client.request(ProtectAmiDocument, { input: { amiId, enabled: !opts.off } });
  if (opts.json) ctx.out.json(data, { pretty: true });
  const { ami } = expectSuccess(data.protectAmi, 'ProtectAmiSuccess');
  if (opts.json) return;
  ctx.out.line(
    ami.deregistrationProtection
      ? `Deregistration protection is on for ${ami.amiId} in ${ami.region}: delete refuses it until \`prism-ami protect ${ami.amiId} --off\``
      : `Deregistration protection is off for ${ami.amiId} in ${ami.region}: it can be deleted again`,
  );
}

/** Either list's connection: community AMIs come without their creation (and its costs). */
type Connection = Omit<UserAmisQuery['userAmis'], 'edges'> & { edges: { cursor: string; node: AmiNode }[] };
type AmiNode = Omit<UserAmisQuery['userAmis']['edges'][number]['node'], 'creation'> & {
  creation?: UserAmisQuery['userAmis']['edges'][number]['node']['creation'];
};

async function list(ctx: CommandContext, opts: ListOptions): Promise<void> {
  const filter: AmiFilter = {
    tags: opts.tag,
    region: opts.region,
    templateName: opts.template,
    nameContains: opts.nameContains,
  };
  const field = opts.community ? 'communityAmis' : 'userAmis';
  let connection: Connection | undefined;
  let after: string | null = null;
  // Follow the cursor so the list is complete; the server caps a page at 100.
  do {
    const page: Connection = opts.community
      ? (await ctx.client.request(CommunityAmisDocument, { first: PAGE_SIZE, after, filter })).communityAmis
      : (await ctx.client.request(UserAmisDocument, { first: PAGE_SIZE, after, filter })).userAmis;
    connection = connection ? { ...page, edges: [...connection.edges, ...page.edges] } : page;
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);

  if (opts.json) return ctx.out.json({ [field]: connection }, { pretty: true });
  const amis: AmiNode[] = connection.edges.map((e) => e.node);
  const whose = opts.community ? 'community AMI' : 'AMI';
  if (amis.length === 0) return ctx.out.line(`No ${whose}s${describeFilter(opts)}.`);
  ctx.out.line(`${amis.length} ${whose}${amis.length === 1 ? '' : 's'}${describeFilter(opts)}\n`);
  ctx.out.line(amis.map((a, i) => formatAmi(a, i + 1)).join('\n\n'));
}

function describeFilter(opts: ListOptions): string {
  const parts = [
    ...(opts.tag ?? []).map((t) => `tag ${t.key}=${t.value}`),
    opts.region && `region ${opts.region}`,
    opts.template && `template ${opts.template}`,
    opts.nameContains && `name containing "${opts.nameContains}"`,
  ].filter(Boolean);
  return parts.length ? ` matching ${parts.join(', ')}` : '';
}
