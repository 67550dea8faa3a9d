// Commands about creation jobs: create, status, watch, cancel.
import { Option, type Command } from 'commander';
import type { CreateAmiInput, CreationFieldsFragment, RegionKmsKeyInput, TagInput } from '../../generated/graphql/graphql.js';
import { AmiStatusDocument, CancelAmiCreationDocument, CreateAmiDocument } from '../../generated/graphql/graphql.js';
import { expectSuccess } from '../client.js';
import type { CommandContext, Runner } from '../context.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import { formatCreation } from '../format.js';
import { collect, collectRegionKmsKey, collectTag, parseCount, parseDateTime, parseDuration } from '../options.js';
import { exitCodeForStatus, follow, jsonView, plainView, reportOutcome, ttyView, type ProgressView } from '../progress.js';

export interface CreateOptions {
  name: string;
  description?: string;
  template?: string;
  keepLatest?: number;
  reboot: boolean;
  public?: boolean;
  tag?: TagInput[];
  region?: string[];
  share?: string[];
  encrypt?: boolean;
  kmsKey?: string;
  regionKmsKey?: RegionKmsKeyInput[];
  deprecateAt?: string;
  /** Milliseconds from now; the CLI turns it into deprecateAt when the request is sent. */
  deprecateIn?: number;
  protect?: boolean;
  imdsV2?: boolean;
  ssmParameter?: string;
  wait?: boolean;
  json?: boolean;
}

export function registerCreationCommands(program: Command, run: Runner): void {
  program
    .command('create')
    .description('Capture an instance as an AMI (optionally copy, share, publish it)')
    .argument('<instance>', "instance id (i-…) or the instance's Name tag")
    .requiredOption('--name <name>', 'AMI name')
    .option('--description <text>', 'AMI description')
    .option('--template <name>', 'associate the AMI with a template')
    .option(
      '--keep-latest <n>',
      'once available, keep only the newest N AMIs of the template (this one included); needs --template',
      parseCount,
    )
    .option('--no-reboot', 'do not reboot the instance (file systems may be inconsistent)')
    .option('--public', 'make the AMI (and its copies) public once available')
    .option('--tag <key=value>', 'tag the AMI and its snapshots (repeatable)', collectTag)
    .option('--region <region>', 'copy the AMI to this region once available (repeatable)', collect)
    .option('--share <account>', 'grant launch permission to this 12-digit account (repeatable)', collect)
    .option('--encrypt', 'encrypt every image (with the AWS managed key unless --kms-key says otherwise)')
    .option('--kms-key <key>', "encrypt every image; the source region's KMS key (id, ARN, alias/…)")
    .option(
      '--region-kms-key <region=key>',
      "encrypt the copy to REGION with KEY (repeatable; needed where --kms-key's key does not exist)",
      collectRegionKmsKey,
    )
    .option('--deprecate-at <time>', 'deprecate every image at this ISO-8601 time (UTC unless a zone is given)', parseDateTime)
    .addOption(
      new Option('--deprecate-in <duration>', 'deprecate every image this long from now: 90d, 12w, 36h, 30m')
        .argParser(parseDuration)
        .conflicts('deprecateAt'),
    )
    .option('--protect', 'turn on deregistration protection for every image (prism-ami protect --off lifts it)')
    .option('--imds-v2', 'instances launched from the images must use IMDSv2')
    .option('--ssm-parameter <name>', "write each image's id to this SSM parameter in its region, e.g. /prism/base/latest")
    .option('--wait', 'follow the creation with a live progress bar until it ends')
    .option('--json', 'print the GraphQL data as JSON (with --wait: one JSON line per change)')
    .action((instance: string, opts: CreateOptions, cmd: Command) => run(cmd, (ctx) => create(ctx, instance, opts)));

  program
    .command('status')
    .description('Show a creation: status, progress, copies, costs')
    .argument('<ref>', 'creation id, or an AMI id (source or copy) a creation produced')
    .option('--json', 'print the GraphQL data as JSON')
    .action((ref: string, opts: { json?: boolean }, cmd: Command) => run(cmd, (ctx) => status(ctx, ref, opts)));

  program
    .command('watch')
    .description('Follow a creation live until it ends (Ctrl-C stops watching, not the creation)')
    .argument('<creation-id>', 'creation id (an AMI id of the creation works too)')
    .option('--json', 'print one JSON line ({"amiProgress": …}) per change')
    .action((ref: string, opts: { json?: boolean }, cmd: Command) => run(cmd, (ctx) => watch(ctx, ref, opts)));

  program
    .command('cancel')
    .description('Cancel an unfinished creation (images made so far are removed)')
    .argument('<creation-id>', 'creation id')
    .option('--json', 'print the GraphQL data as JSON')
    .action((id: string, opts: { json?: boolean }, cmd: Command) => run(cmd, (ctx) => cancel(ctx, id, opts)));
}

/** The createAmi input the flags ask for; `now` anchors --deprecate-in. */
export function createInput(instance: string, opts: CreateOptions, now = Date.now()): CreateAmiInput {
  // Any of the three flags asks for encryption; --encrypt alone means the AWS managed key.
  const encrypt = opts.encrypt || opts.kmsKey !== undefined || opts.regionKmsKey !== undefined;
  const deprecateAt = opts.deprecateIn !== undefined ? new Date(now + opts.deprecateIn).toISOString() : opts.deprecateAt;
  return {
    instance,
    name: opts.name,
    description: opts.description,
    templateName: opts.template,
    ...(opts.keepLatest !== undefined ? { retention: { keepLatest: opts.keepLatest } } : {}),
    noReboot: !opts.reboot,
    public: opts.public ?? false,
    tags: opts.tag ?? [],
    copyToRegions: opts.region ?? [],
    shareWithAccounts: opts.share ?? [],
    ...(encrypt ? { encryption: { kmsKeyId: opts.kmsKey, regionKmsKeyIds: opts.regionKmsKey ?? [] } } : {}),
    deprecateAt,
    deregistrationProtection: opts.protect ?? false,
    requireImdsV2: opts.imdsV2 ?? false,
    ssmParameter: opts.ssmParameter,
  };
}

async function create(ctx: CommandContext, instance: string, opts: CreateOptions): Promise<ExitCode | void> {
  const data = await ctx.client.request(CreateAmiDocument, { input: createInput(instance, opts) });
  // With --json the data goes out even when it is a typed error, for scripts; the exit code still says so.
  if (opts.json) ctx.out.json(data, { pretty: !opts.wait });
  const { creation } = expectSuccess(data.createAmi, 'CreateAmiSuccess');
  if (!opts.wait) {
    if (!opts.json) {
      ctx.out.line(formatCreation(creation));
      ctx.out.line(`\nFollow it live: prism-ami watch ${creation.id}`);
    }
    return;
  }
  if (!opts.json) ctx.out.line(`Creating AMI "${creation.name}" from ${creation.instanceId} (creation ${creation.id})`);
  return followAndReport(ctx, creation.id, opts.json);
}

/** amiStatus accepts a creation id or an AMI id; null means neither is known. */
async function lookup(ctx: CommandContext, ref: string) {
  const data = await ctx.client.request(AmiStatusDocument, { ref });
  return { data, creation: data.amiStatus };
}

function notFound(ref: string): CliError {
  return new CliError(`No AMI creation or AMI "${ref}" is known to this server`, { code: 'CREATION_NOT_FOUND' });
}

async function status(ctx: CommandContext, ref: string, opts: { json?: boolean }): Promise<ExitCode | void> {
  const { data, creation } = await lookup(ctx, ref);
  if (opts.json) ctx.out.json(data, { pretty: true });
  if (!creation) throw notFound(ref);
  if (!opts.json) ctx.out.line(formatCreation(creation));
}

async function watch(ctx: CommandContext, ref: string, opts: { json?: boolean }): Promise<ExitCode> {
  // One query first: a wrong id or a server that is down gets the same clear error as `status`.
  const { creation } = await lookup(ctx, ref);
  if (!creation) throw notFound(ref);
  if (!opts.json)
    ctx.out.line(`Watching AMI creation ${creation.id} ("${creation.name}"); Ctrl-C stops watching, not the creation`);
  return followAndReport(ctx, creation.id, opts.json);
}

async function followAndReport(ctx: CommandContext, id: string, json: boolean | undefined): Promise<ExitCode> {
  const view: ProgressView = json ? jsonView(ctx.out) : ctx.out.isTTY ? ttyView(ctx.out.stdout) : plainView(ctx.out);
  let outcome;
  try {
    outcome = await follow(ctx.client, id, view);
  } catch (err) {
    // Whatever broke the stream, the creation itself goes on on the server.
    if (err instanceof CliError) {
      throw new CliError(err.message, {
        code: err.code,
        exitCode: err.exitCode,
        details: [...err.details, `the creation goes on; resume with: prism-ami watch ${id}`],
      });
    }
    throw err;
  }
  if (outcome.kind === 'interrupted') {
    const where = outcome.last ? ` (${outcome.last.status}, ${outcome.last.progress}%)` : '';
    ctx.out.warn(`\nStopped watching. Creation ${id} goes on${where}; resume with: prism-ami watch ${id}`);
    return EXIT.INTERRUPTED;
  }
  const final: CreationFieldsFragment = outcome.creation;
  // With --json the last JSON line already says how it ended; only the exit code is left to give.
  return json ? exitCodeForStatus(final.status) : reportOutcome(ctx.out, final);
}

async function cancel(ctx: CommandContext, id: string, opts: { json?: boolean }): Promise<ExitCode | void> {
  const data = await ctx.client.request(CancelAmiCreationDocument, { id });
  if (opts.json) ctx.out.json(data, { pretty: true });
  const { creation } = expectSuccess(data.cancelAmiCreation, 'CancelAmiCreationSuccess');
  if (opts.json) return;
  ctx.out.line(`Cancelled AMI creation ${creation.id} ("${creation.name}"): ${creation.status}, ${creation.message}`);
}
