// The schema builder: plugins and scalars only; types live in ./types.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context } from '../resolvers/context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { authenticated: boolean };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: number | Date };
  };
}>({
  // scope-auth first, so no other plugin's wrapper runs for an unauthorized request.
  plugins: [ScopeAuthPlugin, ErrorsPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
  scopeAuth: {
    // Checked when a subscription starts, not only when its first event resolves.
    authorizeOnSubscribe: true,
    // The transport layer already rejects requests without a valid token; this is the schema's
    // own guarantee that no root field runs for an unauthenticated context.
    authScopes: (ctx) => ({ authenticated: Boolean(ctx.viewer?.user) }),
    unauthorizedError: () =>
      new GraphQLError('Authentication required', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } }),
  },
});

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time in UTC, e.g. 2026-11-25T17:48:00.000Z',
  serialize: (value) => new Date(value).toISOString(),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 date-time');
    return date;
  },
});

builder.queryType({ description: 'Reads: creations, AMIs, the community list', authScopes: { authenticated: true } });
builder.mutationType({ description: 'Changes: create, cancel, publish, share, deregister', authScopes: { authenticated: true } });
builder.subscriptionType({
  description: "Live changes: one creation's progress, and the viewer's creations and AMIs",
  authScopes: { authenticated: true },
});
