// Responsible for the instance list: the source region's instances the viewer may capture, a page
// at a time, each with its size, storage cost, owner, whether it can be captured now (and why not)
// and the last AMI made from it; and for one instance by id under the same rules. Per page: one
// DescribeInstances (EC2-side filters, EC2's own paging) and one DescribeVolumes, never a call per
// instance.
import { latestAmisOfInstances, type AmiRecord } from '../db/amis.js';
import { pageSize } from './ami-creations.js';
import type { ServiceDeps } from './context.js';
import { snapshotStoragePrice } from './costs.js';
import { isNotFound, toDomainError } from './ec2/errors.js';
import type { Ec2Filter, Ec2Instance, Ec2InstancePage } from './ec2/types.js';
import { ValidationError } from './errors.js';
import { inCapturableState, mayCapture, ownerOf, type InstanceAccessPolicy } from './instance-access.js';
import { INSTANCE_ID_PATTERN } from './validation.js';
import type { Viewer } from './viewer.js';

export const INSTANCE_STATES = ['PENDING', 'RUNNING', 'STOPPING', 'STOPPED', 'SHUTTING_DOWN'] as const;
export type InstanceStateName = (typeof INSTANCE_STATES)[number];

const EC2_STATE: Record<InstanceStateName, string> = {
  PENDING: 'pending',
  RUNNING: 'running',
  STOPPING: 'stopping',
  STOPPED: 'stopped',
  SHUTTING_DOWN: 'shutting-down',
};

/** EC2's bounds on DescribeInstances MaxResults. */
const EC2_MIN_RESULTS = 5;
const EC2_MAX_RESULTS = 1000;
/**
 * EC2 may answer a filtered page with no instances and a NextToken; such pages are followed at once
 * (so a page is empty only at the end), up to this many requests for one page.
 */
const MAX_REQUESTS_PER_PAGE = 10;

export interface InstanceFilter {
  state?: InstanceStateName | null;
  /** Substring of the Name tag; case-sensitive, as EC2 matches filter values. */
  nameContains?: string | null;
}

export interface InstanceSummary {
  instanceId: string;
  name: string | undefined;
  state: InstanceStateName;
  architecture: string | undefined;
  region: string;
  sizeGiB: number;
  owner: string | undefined;
  launchedAt: string | undefined;
  capturable: boolean;
  capturableReason: string | undefined;
  storageMonthlyUsd: number;
  lastAmi: AmiRecord | undefined;
}

export interface InstancePage {
  edges: { cursor: string; node: InstanceSummary }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

type ListArgs = { first?: number | null; after?: string | null; filter?: InstanceFilter | null };

export type InstanceService = ReturnType<typeof createInstanceService>;

export function createInstanceService(deps: ServiceDeps) {
  return {
    /** The instances `viewer` may capture (all of them for admins and under INSTANCE_ACCESS=any), none terminated. */
    list: (viewer: Viewer, args: ListArgs): Promise<InstancePage> => listInstances(deps, viewer, args),
    /** One instance as the list shows it (in `region`, the source region by default); null when the viewer may not see it. */
    get: (viewer: Viewer, args: { id: string; region?: string | null }): Promise<InstanceSummary | null> =>
      getInstance(deps, viewer, args.id, args.region ?? deps.sourceRegion),
  };
}

async function listInstances(deps: ServiceDeps, viewer: Viewer, args: ListArgs): Promise<InstancePage> {
  const first = pageSize(args.first);
  const after = args.after ? decodeCursor(args.after) : { token: undefined, skip: 0 };
  const filters = ec2Filters(viewer, deps.access, args.filter ?? {});
  const { page, start } = await fetchPage(deps, filters, after, first);
  const taken = page.instances.slice(start.skip, start.skip + first);
  const sizes = await volumeSizes(deps, taken);
  const lastAmis = await latestAmisOfInstances(
    deps.db,
    viewer.user,
    taken.map((i) => i.id),
  );
  const edges = taken.map((instance, j) => {
    const index = start.skip + j;
    // After the last instance of EC2's page, the next GraphQL page starts at EC2's next page.
    const cursor =
      index === page.instances.length - 1 && page.nextToken
        ? encodeCursor({ token: page.nextToken, skip: 0 })
        : encodeCursor({ token: start.token, skip: index + 1 });
    const node = summarizeInstance(deps, viewer, {
      instance,
      region: deps.sourceRegion,
      sizeGiB: sizes.get(instance.id) ?? 0,
      lastAmi: lastAmis.get(instance.id),
    });
    return { cursor, node };
  });
  return {
    edges,
    hasNextPage: page.instances.length > start.skip + first || page.nextToken !== undefined,
    hasPreviousPage: args.after != null,
  };
}

/** The list's rules for one id: unknown, terminated or (for a user) someone else's reads as absent. */
async function getInstance(deps: ServiceDeps, viewer: Viewer, id: string, region: string): Promise<InstanceSummary | null> {
  if (!INSTANCE_ID_PATTERN.test(id)) return null;
  let found: Ec2Instance[];
  try {
    found = await deps.ec2.describeInstances(region, { ids: [id] });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw toDomainError(err);
  }
  const instance = found.find((i) => i.id === id);
  if (!instance || !Object.values(EC2_STATE).includes(instance.state)) return null;
  if (deps.access.mode === 'owner' && !viewer.admin && ownerOf(instance, deps.access) !== viewer.user) return null;
  const sizes = await volumeSizes(deps, [instance], region);
  const lastAmis = await latestAmisOfInstances(deps.db, viewer.user, [id]);
  return summarizeInstance(deps, viewer, { instance, region, sizeGiB: sizes.get(id) ?? 0, lastAmi: lastAmis.get(id) });
}

/**
 * EC2-side filters: never terminated (or only the state asked for), the owner tag for a user who
 * may capture only their own, and the Name tag as a `*text*` wildcard (moto and the simulator match
 * it as EC2 does). Values are escaped, so a user named `*` sees no one else's instances.
 */
function ec2Filters(viewer: Viewer, access: InstanceAccessPolicy, filter: InstanceFilter): Ec2Filter[] {
  const states = filter.state ? [EC2_STATE[filter.state]] : Object.values(EC2_STATE);
  const filters: Ec2Filter[] = [{ name: 'instance-state-name', values: states }];
  if (access.mode === 'owner' && !viewer.admin) {
    filters.push({ name: `tag:${access.ownerTag}`, values: [escapeWildcards(viewer.user)] });
  }
  if (filter.nameContains) filters.push({ name: 'tag:Name', values: [`*${escapeWildcards(filter.nameContains)}*`] });
  return filters;
}

function escapeWildcards(text: string): string {
  return text.replace(/[\\*?]/g, (c) => `\\${c}`);
}

/**
 * One DescribeInstances from the cursor's EC2 token, asking for the instances to skip plus the
 * page (EC2 takes 5..1000; `first` is at most 100, so skip + first stays far below 1000).
 */
async function fetchPage(
  deps: ServiceDeps,
  filters: Ec2Filter[],
  start: PageCursor,
  first: number,
): Promise<{ page: Ec2InstancePage; start: PageCursor }> {
  const maxResults = Math.min(EC2_MAX_RESULTS, Math.max(EC2_MIN_RESULTS, start.skip + first));
  for (let request = 1; ; request++) {
    const page = await deps.ec2
      .listInstances(deps.sourceRegion, { filters, maxResults, nextToken: start.token })
      .catch((err: unknown) => {
        throw toDomainError(err);
      });
    const empty = page.instances.length <= start.skip;
    if (!empty || !page.nextToken || request >= MAX_REQUESTS_PER_PAGE || first === 0) return { page, start };
    // Nothing left on this EC2 page: go on from its successor, skipping nothing there.
    start = { token: page.nextToken, skip: 0 };
  }
}

/** Total EBS size per instance, from one DescribeVolumes for the whole page. */
async function volumeSizes(
  deps: ServiceDeps,
  instances: Ec2Instance[],
  region = deps.sourceRegion,
): Promise<Map<string, number>> {
  const volumeIds = instances.flatMap((i) => i.volumeIds);
  const volumes = await deps.ec2.findVolumes(region, volumeIds).catch((err: unknown) => {
    throw toDomainError(err);
  });
  const sizeOf = new Map(volumes.map((v) => [v.id, v.sizeGiB]));
  return new Map(instances.map((i) => [i.id, i.volumeIds.reduce((sum, id) => sum + (sizeOf.get(id) ?? 0), 0)]));
}

/** An instance as the API shows it (the list, `instance(id)`, a launch's answer). */
export function summarizeInstance(
  deps: Pick<ServiceDeps, 'access'>,
  viewer: Viewer,
  seen: { instance: Ec2Instance; region: string; sizeGiB: number; lastAmi: AmiRecord | undefined },
): InstanceSummary {
  const { instance, region, sizeGiB, lastAmi } = seen;
  const state = stateName(instance.state);
  const decision = mayCapture(viewer, instance, deps.access);
  let reason: string | undefined;
  if (!inCapturableState(instance)) {
    reason = `Instance ${instance.id} is ${instance.state}; an AMI can be made only from a running or stopped instance.`;
  } else if (!decision.allowed) reason = decision.reason;
  return {
    instanceId: instance.id,
    name: instance.name,
    state,
    architecture: instance.architecture,
    region,
    sizeGiB,
    owner: ownerOf(instance, deps.access),
    launchedAt: instance.launchedAt,
    capturable: reason === undefined,
    capturableReason: reason,
    // Upper bound, as for a creation's cost: the full volume size, in the source region.
    storageMonthlyUsd: Math.round(sizeGiB * snapshotStoragePrice(region) * 10_000) / 10_000,
    lastAmi,
  };
}

function stateName(ec2State: string): InstanceStateName {
  const found = INSTANCE_STATES.find((s) => EC2_STATE[s] === ec2State);
  // The state filter keeps terminated instances out; anything else unforeseen reads as pending.
  return found ?? 'PENDING';
}

/** Where a page starts: EC2's NextToken (none: the first EC2 page), then how many of its instances to skip. */
interface PageCursor {
  token: string | undefined;
  skip: number;
}

function encodeCursor(c: PageCursor): string {
  return Buffer.from(JSON.stringify({ t: c.token ?? null, s: c.skip }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): PageCursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { t?: unknown; s?: unknown };
    const { t, s } = parsed;
    if ((t === null || typeof t === 'string') && typeof s === 'number' && Number.isInteger(s) && s >= 0 && s < EC2_MAX_RESULTS) {
      return { token: t ?? undefined, skip: s };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ path: 'after', message: 'is not a cursor of this list (pass a previous endCursor)' }]);
}
