import type { ObjectRef } from '@pothos/core';
import type { Page } from '../../db/pagination.js';
import type { Tag } from '../../services/ec2/types.js';
import { builder } from '../builder.js';

export const TagType = builder.objectRef<Tag>('Tag').implement({
  description: 'A key/value tag on an AMI',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Tag key' }),
    value: t.exposeString('value', { description: 'Tag value' }),
  }),
});

export const TagInput = builder.inputType('TagInput', {
  description: 'A tag: key 1–127 characters (no aws: or prism: prefix), value up to 256',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Tag key' }),
    value: t.string({ required: true, description: 'Tag value' }),
  }),
});

type SchemaTypesOf = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;

export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const PageInfoType = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description: 'Relay-style pagination state',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'More items follow endCursor' }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'Items precede startCursor' }),
    startCursor: t.exposeString('startCursor', { nullable: true, description: 'Cursor of the first edge' }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Cursor of the last edge; pass it as `after`' }),
  }),
});

export type ConnectionShape<T> = Page<T> & { cursorOf(item: T): string };

/** A Relay-style connection type (edges, pageInfo, totalCount) over a keyset page. */
export function connectionType<T>(name: string, nodeType: ObjectRef<SchemaTypesOf, T>, nodeDescription: string) {
  const Edge = builder.objectRef<{ cursor: string; node: T }>(`${name}Edge`).implement({
    description: `One ${nodeDescription} and its cursor`,
    fields: (t) => ({
      cursor: t.exposeString('cursor', { description: 'Opaque cursor of this edge' }),
      // `as never`: Pothos cannot relate a generic T to its resolver result type; the ref fixes it.
      node: t.field({ type: nodeType, resolve: (e) => e.node as never, description: `The ${nodeDescription}` }),
    }),
  });
  return builder.objectRef<ConnectionShape<T>>(`${name}Connection`).implement({
    description: `A page of ${nodeDescription}s, newest first`,
    fields: (t) => ({
      edges: t.field({
        type: [Edge],
        description: 'The items of this page',
        resolve: (c) => c.items.map((node) => ({ cursor: c.cursorOf(node), node })),
      }),
      pageInfo: t.field({
        type: PageInfoType,
        description: 'Where this page is',
        resolve: (c) => ({
          hasNextPage: c.hasNextPage,
          hasPreviousPage: c.hasPreviousPage,
          startCursor: c.items.length ? c.cursorOf(c.items[0]!) : null,
          endCursor: c.items.length ? c.cursorOf(c.items[c.items.length - 1]!) : null,
        }),
      }),
      totalCount: t.int({ description: 'Items matching, over all pages', resolve: (c) => c.totalCount() }),
    }),
  });
}
