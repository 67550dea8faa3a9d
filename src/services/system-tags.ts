// The tags prism-ami puts on every image and snapshot it makes: they let a restart find an image
// whose id was never stored, and let reconciliation tell the service's AMIs from the rest.
import type { Tag } from './ec2/types.js';

export const TAG_CREATION_ID = 'prism:creation-id';
export const TAG_MANAGED = 'prism:managed';
export const TAG_OWNER = 'prism:owner';
export const TAG_TEMPLATE = 'prism:template';
export const TAG_COMMUNITY = 'prism:community';

export function systemTags(c: { id: string; owner: string; templateName: string | null }): Tag[] {
  const tags: Tag[] = [
    { key: TAG_CREATION_ID, value: c.id },
    { key: TAG_MANAGED, value: 'true' },
    { key: TAG_OWNER, value: c.owner },
  ];
  if (c.templateName) tags.push({ key: TAG_TEMPLATE, value: c.templateName });
  return tags;
}

/** User tags first (in their order), then the system tags. */
export function imageTags(c: { id: string; owner: string; templateName: string | null; tags: Tag[] }): Tag[] {
  return [...c.tags, ...systemTags(c)];
}
