// The layer rules, as lint (so a reviewer never has to say them): which folder may import what.
// One dependency direction, schema → resolvers → services → db; the AWS SDK only behind the EC2
// gateway (SSM's behind the SSM gateway); ioredis only behind the src/redis adapters; the environment read only where configuration is parsed; the simulator a program of its
// own; a creation written and announced only by its lifecycle. test/unit/layers.test.ts plants a
// violation of each and checks the message.
//
// In a flat config the last matching object sets a rule, so every area below lists its whole set.

const SDK = {
  group: ['@aws-sdk/*'],
  allowTypeImports: true,
  message:
    'Only src/services/ec2/gateway.ts calls the AWS SDK at run time: go through the Ec2Gateway interface (SSM: the SsmGateway of src/services/ssm/gateway.ts; types may be imported).',
};

const SSM_SDK = {
  group: ['@aws-sdk/*', '!@aws-sdk/client-ssm'],
  allowTypeImports: true,
  message:
    'Only src/services/ssm/gateway.ts calls the SSM SDK at run time, and only the SSM SDK: EC2 goes through the Ec2Gateway interface (types may be imported).',
};

const SSM_IN_EC2_GATEWAY = {
  group: ['@aws-sdk/client-ssm'],
  allowTypeImports: true,
  message: 'Only src/services/ssm/gateway.ts calls SSM at run time: go through the SsmGateway interface (types may be imported).',
};

const REDIS_CLIENT = {
  group: ['ioredis', 'ioredis/*'],
  message:
    'Only src/redis/** imports ioredis; services get these adapters injected (behind EventHub, RateLimiter, ConnectionLimiter, CreationReservations).',
};

const GRAPHQL_IN_SERVICES = {
  group: ['graphql', 'graphql/*', '@pothos/*', 'graphql-yoga', '@graphql-yoga/*', 'graphql-ws', 'graphql-ws/*', '@escape.tech/*'],
  message:
    'Services hold decisions and know nothing of GraphQL: return plain values or throw a domain error from src/services/errors.ts.',
};

const OUTER_LAYERS_IN_SERVICES = {
  group: [
    '**/schema/*',
    '**/resolvers/*',
    '**/http/*',
    '**/cli/*',
    '**/redis/*',
    '../server.js',
    '../../server.js',
    '../app.js',
    '../../app.js',
  ],
  message:
    'Services must not import the schema, resolvers, HTTP, Redis or app layers (dependencies point inwards: schema → resolvers → services → db; adapters are injected).',
};

const DATA_ACCESS_IN_API = {
  group: ['**/db/*', 'drizzle-orm', 'drizzle-orm/*', 'better-sqlite3'],
  allowTypeImports: true,
  message: 'The schema and resolvers reach data only through services: import data-access modules as types only (`import type`).',
};

const SERVER_IN_SIMULATOR = {
  group: ['**/src/*', '**/src/**'],
  message: 'The EC2 simulator is a program of its own and imports nothing of the server (src/).',
};

const CREATION_WRITES = {
  group: ['**/db/creations.js'],
  importNames: ['insertCreation', 'updateCreation', 'deleteCreation'],
  message:
    'A creation changes only through a named transition of src/services/creations/lifecycle.ts, which guards it and tells subscribers.',
};

const restrict = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

const SERVICES = ['src/services/**/*.ts'];
const LIFECYCLE = ['src/services/creations/lifecycle.ts'];
const GATEWAY = ['src/services/ec2/gateway.ts'];
const SSM_GATEWAY = ['src/services/ssm/gateway.ts'];
const API = ['src/schema/**/*.ts', 'src/resolvers/**/*.ts'];
const REDIS = ['src/redis/**/*.ts'];
const SIMULATOR = ['simulator/**/*.ts'];
const ENTRY_POINTS = ['src/config.ts', 'src/main.ts', 'src/cli/main.ts', 'simulator/main.ts'];

export const layerRules = [
  { files: ['src/**/*.ts', 'simulator/**/*.ts'], rules: restrict(SDK, REDIS_CLIENT, CREATION_WRITES) },
  { files: REDIS, rules: restrict(SDK, CREATION_WRITES) },
  { files: SERVICES, rules: restrict(SDK, REDIS_CLIENT, GRAPHQL_IN_SERVICES, OUTER_LAYERS_IN_SERVICES, CREATION_WRITES) },
  { files: LIFECYCLE, rules: restrict(SDK, REDIS_CLIENT, GRAPHQL_IN_SERVICES, OUTER_LAYERS_IN_SERVICES) },
  {
    files: GATEWAY,
    rules: restrict(SSM_IN_EC2_GATEWAY, REDIS_CLIENT, GRAPHQL_IN_SERVICES, OUTER_LAYERS_IN_SERVICES, CREATION_WRITES),
  },
  { files: SSM_GATEWAY, rules: restrict(SSM_SDK, REDIS_CLIENT, GRAPHQL_IN_SERVICES, OUTER_LAYERS_IN_SERVICES, CREATION_WRITES) },
  { files: API, rules: restrict(SDK, REDIS_CLIENT, DATA_ACCESS_IN_API) },
  { files: SIMULATOR, rules: restrict(SDK, REDIS_CLIENT, SERVER_IN_SIMULATOR) },
  {
    files: ['src/**/*.ts'],
    ignores: LIFECYCLE,
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='publish'][arguments.0.callee.name='creationTopic']",
          message:
            'Creation events are published by src/services/creations/lifecycle.ts when a transition applied; call a transition instead.',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'simulator/**/*.ts'],
    ignores: ENTRY_POINTS,
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Only src/config.ts (loadConfig) and the entry points read process.env: add a setting to the config schema and pass it in.',
        },
      ],
    },
  },
];
