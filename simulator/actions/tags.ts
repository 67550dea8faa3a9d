/** CreateTags, DeleteTags, and the tag rules every action that accepts TagSpecifications shares. */
import type { CreateTagsRequest, DeleteTagsRequest, TagSpecification } from '@aws-sdk/client-ec2';
import type { ActionContext } from '../context.js';
import { Ec2ApiFault, errors } from '../errors.js';
import { assertIds } from '../ids.js';
import type { Tag } from '../state.js';

const MAX_TAGS = 50;

export function validateTags(tags: readonly { Key?: string; Value?: string }[]): Tag[] {
  return tags.map((t) => {
    const key = t.Key ?? '';
    const value = t.Value ?? '';
    if (key.length === 0 || key.length > 128) {
      throw errors.invalidParameterValue(`Tag key must be between 1 and 128 characters: '${key}'`);
    }
    if (value.length > 256) throw errors.invalidParameterValue(`Tag value exceeds 256 characters for key '${key}'`);
    if (key.toLowerCase().startsWith('aws:')) {
      throw errors.invalidParameterValue(`Tag keys starting with 'aws:' are reserved for internal use`);
    }
    return { Key: key, Value: value };
  });
}

/** Later tags win for the same key, as repeated CreateTags calls do on EC2. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of added) byKey.set(t.Key, t.Value);
  if (byKey.size > MAX_TAGS) {
    throw new Ec2ApiFault('TagLimitExceeded', `The maximum number of tags (${MAX_TAGS}) per resource has been exceeded`);
  }
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

/** Tags of `specs` for each resource type, rejecting types the action cannot tag (as EC2 does). */
export function tagsFromSpecs(specs: readonly TagSpecification[] | undefined, allowed: readonly string[]): Map<string, Tag[]> {
  const out = new Map<string, Tag[]>();
  for (const spec of specs ?? []) {
    const type = spec.ResourceType ?? '';
    if (!allowed.includes(type)) {
      throw errors.invalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    }
    out.set(type, mergeTags(out.get(type) ?? [], validateTags(spec.Tags ?? [])));
  }
  return out;
}

interface Taggable {
  tags: Tag[];
}

/** The own resource an id names in this region, or EC2's not-found error for its kind. */
function taggable(ctx: ActionContext, id: string): Taggable {
  const { store, rt } = ctx;
  const prefix = id.split('-')[0];
  switch (prefix) {
    case 'ami': {
      assertIds('ami', [id]);
      const image = store.images.get(id);
      if (!image) throw errors.amiNotFound([id]);
      if (image.ownerId !== rt.accountId) throw errors.unauthorized();
      return image;
    }
    case 'snap': {
      assertIds('snap', [id]);
      const snap = store.snapshots.get(id);
      if (!snap) throw errors.snapshotNotFound([id]);
      if (snap.ownerId !== rt.accountId) throw errors.unauthorized();
      return snap;
    }
    case 'i': {
      assertIds('i', [id]);
      const inst = store.instances.get(id);
      if (!inst) throw errors.instanceNotFound([id]);
      return inst;
    }
    case 'vol': {
      assertIds('vol', [id]);
      const vol = store.volumes.get(id);
      if (!vol) throw errors.volumeNotFound([id]);
      return vol;
    }
    default:
      throw new Ec2ApiFault('InvalidID', `The ID '${id}' is not valid`);
  }
}

export function createTags(ctx: ActionContext, input: CreateTagsRequest): void {
  const tags = validateTags(input.Tags ?? []);
  // Resolve every resource first: one bad id fails the call without tagging the others.
  const targets = (input.Resources ?? []).map((id) => taggable(ctx, id));
  const merged = targets.map((t) => mergeTags(t.tags, tags));
  targets.forEach((t, i) => (t.tags = merged[i] ?? t.tags));
}

export function deleteTags(ctx: ActionContext, input: DeleteTagsRequest): void {
  const targets = (input.Resources ?? []).map((id) => taggable(ctx, id));
  for (const target of targets) {
    if (input.Tags === undefined) {
      target.tags = []; // no Tag.N at all: EC2 deletes every tag of the resource
      continue;
    }
    target.tags = target.tags.filter(
      (t) => !input.Tags?.some((d) => d.Key === t.Key && (d.Value === undefined || d.Value === t.Value)),
    );
  }
}
