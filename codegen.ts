// GraphQL Code Generator: prints schema.graphql from the Pothos schema (the committed contract of
// this server) and generates typed documents for the operations the CLI and the tests use, and,
// separately, for the web dashboard's operations (web/operations → web/src/generated).
import type { CodegenConfig } from '@graphql-codegen/cli';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './src/schema/index.js';

const sdl = printSchema(lexicographicSortSchema(schema));

/** Typed documents for both clients: same scalars and type style. */
const typedDocuments = {
  emitLegacyCommonJSImports: false,
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: 'string' },
  strictScalars: true,
  avoidOptionals: { field: true, inputValue: false },
};

const config: CodegenConfig = {
  schema: sdl,
  ignoreNoDocuments: false,
  generates: {
    'schema.graphql': {
      plugins: ['schema-ast'],
      config: { includeDirectives: false, sort: true },
    },
    'src/generated/graphql/': {
      documents: ['src/cli/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: typedDocuments,
    },
    // The browser bundle: documents as plain strings (no graphql-js AST or printer shipped).
    'web/src/generated/': {
      documents: ['web/operations/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false, gqlTagName: 'graphql' },
      config: { ...typedDocuments, documentMode: 'string' },
    },
  },
};

export default config;
