// The schema builder: plugins and scalars only; types live in ./types.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import type { Context } from '../resolvers/context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: number | Date };
  };
}>({
  plugins: [ErrorsPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
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

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
