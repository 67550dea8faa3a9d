// The layer rules of eslint.layers.js, each with a planted violation: the lint run fails with the
// rule's message, and the allowed form of the same import passes.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { layerRules } from '../../eslint.layers.js';

const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { '@typescript-eslint': tseslint.plugin } },
    ...layerRules,
  ],
});

async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('layer rules', () => {
  it('refuses graphql in a service', async () => {
    const errors = await lint(
      'src/services/planted.ts',
      "import { GraphQLError } from 'graphql';\nexport const e = GraphQLError;\n",
    );
    expect(errors).toEqual([expect.stringContaining('Services hold decisions and know nothing of GraphQL')]);
  });

  it('refuses Pothos, the schema, resolvers and HTTP in a service', async () => {
    for (const spec of ['@pothos/core', '../schema/builder.js', '../resolvers/amis.js', '../http/rest.js', '../server.js']) {
      const errors = await lint('src/services/planted.ts', `import * as x from '${spec}';\nexport { x };\n`);
      expect(errors, spec).toHaveLength(1);
    }
  });

  it('refuses the AWS SDK at run time outside the gateway, and allows its types', async () => {
    const runtime = await lint(
      'src/services/planted.ts',
      "import { EC2Client } from '@aws-sdk/client-ec2';\nexport const c = EC2Client;\n",
    );
    expect(runtime).toEqual([expect.stringContaining('Only src/services/ec2/gateway.ts calls the AWS SDK at run time')]);
    const types = await lint(
      'src/services/planted.ts',
      "import type { Image } from '@aws-sdk/client-ec2';\nexport type I = Image;\n",
    );
    expect(types).toEqual([]);
    const gateway = await lint(
      'src/services/ec2/gateway.ts',
      "const sdk = await import('@aws-sdk/client-ec2');\nimport { EC2Client } from '@aws-sdk/client-ec2';\nexport { sdk, EC2Client };\n",
    );
    expect(gateway).toEqual([]);
  });

  it('lets only the SSM gateway call the SSM SDK at run time, and it nothing else of the AWS SDK', async () => {
    const ssm = "import { SSMClient } from '@aws-sdk/client-ssm';\nexport const c = SSMClient;\n";
    for (const file of ['src/services/planted.ts', 'src/services/tracker/planted.ts']) {
      expect(await lint(file, ssm), file).toEqual([
        expect.stringContaining('Only src/services/ec2/gateway.ts calls the AWS SDK'),
      ]);
    }
    expect(await lint('src/services/ec2/gateway.ts', ssm)).toEqual([
      expect.stringContaining('Only src/services/ssm/gateway.ts calls SSM at run time'),
    ]);
    expect(await lint('src/services/ssm/gateway.ts', ssm)).toEqual([]);
    expect(
      await lint('src/services/ssm/gateway.ts', "const sdk = await import('@aws-sdk/client-ssm');\nexport { sdk };\n"),
    ).toEqual([]);
    const ec2 = "import { EC2Client } from '@aws-sdk/client-ec2';\nexport const c = EC2Client;\n";
    expect(await lint('src/services/ssm/gateway.ts', ec2)).toEqual([
      expect.stringContaining('Only src/services/ssm/gateway.ts calls the SSM SDK at run time, and only the SSM SDK'),
    ]);
    const types = "import type { Parameter } from '@aws-sdk/client-ssm';\nexport type P = Parameter;\n";
    expect(await lint('src/services/planted.ts', types)).toEqual([]);
  });

  it('lets only src/redis import ioredis, and keeps src/redis out of the services', async () => {
    const client = "import { Redis } from 'ioredis';\nexport const r = Redis;\n";
    for (const file of ['src/services/planted.ts', 'src/http/planted.ts', 'src/app.ts', 'src/services/tracker/planted.ts']) {
      expect(await lint(file, client), file).toEqual([expect.stringContaining('Only src/redis/** imports ioredis')]);
    }
    expect(await lint('src/redis/planted.ts', client)).toEqual([]);
    const adapter = "import { connectRedis } from '../redis/client.js';\nexport const c = connectRedis;\n";
    expect(await lint('src/services/planted.ts', adapter)).toEqual([
      expect.stringContaining('Services must not import the schema, resolvers, HTTP, Redis or app layers'),
    ]);
    expect(
      await lint('src/app.ts', "import { connectRedis } from './redis/client.js';\nexport const c = connectRedis;\n"),
    ).toEqual([]);
  });

  it('refuses process.env outside the config and the entry points', async () => {
    const errors = await lint('src/services/planted.ts', 'export const port = process.env.PORT;\n');
    expect(errors).toEqual([expect.stringContaining('Only src/config.ts (loadConfig) and the entry points read process.env')]);
    expect(await lint('src/config.ts', 'export const port = process.env.PORT;\n')).toEqual([]);
  });

  it('refuses run-time data access in a resolver or schema file, and allows type imports', async () => {
    const errors = await lint(
      'src/resolvers/planted.ts',
      "import { findAmi } from '../db/amis.js';\nexport const f = findAmi;\n",
    );
    expect(errors).toEqual([expect.stringContaining('The schema and resolvers reach data only through services')]);
    expect(await lint('src/schema/types/planted.ts', "import { eq } from 'drizzle-orm';\nexport const e = eq;\n")).toHaveLength(
      1,
    );
    expect(
      await lint('src/resolvers/planted.ts', "import type { AmiRecord } from '../db/amis.js';\nexport type A = AmiRecord;\n"),
    ).toEqual([]);
  });

  it('refuses an import of the server in the simulator', async () => {
    const errors = await lint(
      'simulator/planted.ts',
      "import { loadConfig } from '../src/config.js';\nexport const l = loadConfig;\n",
    );
    expect(errors).toEqual([expect.stringContaining('The EC2 simulator is a program of its own')]);
  });

  it('lets only the creation lifecycle write creation rows or publish creation events', async () => {
    const write = "import { updateCreation } from '../../db/creations.js';\nexport const u = updateCreation;\n";
    expect(await lint('src/services/tracker/planted.ts', write)).toEqual([
      expect.stringContaining('A creation changes only through a named transition of src/services/creations/lifecycle.ts'),
    ]);
    expect(await lint('src/http/planted.ts', write.replace('../../', '../'))).toHaveLength(1);
    expect(await lint('src/services/creations/lifecycle.ts', write)).toEqual([]);
    const read = "import { findCreation } from '../../db/creations.js';\nexport const f = findCreation;\n";
    expect(await lint('src/services/tracker/planted.ts', read)).toEqual([]);
    const announce =
      "declare const events: { publish(t: string, v: unknown): void };\ndeclare function creationTopic(id: string): string;\nevents.publish(creationTopic('c'), {});\n";
    expect(await lint('src/services/planted.ts', announce)).toEqual([
      expect.stringContaining('Creation events are published by src/services/creations/lifecycle.ts'),
    ]);
  });
});
