/**
 * SSM Parameter Store: PutParameter, GetParameter, GetParameters, GetParametersByPath,
 * DeleteParameter, with SSM's naming rules, versions and the `aws:ec2:image` data type.
 */
import type {
  DeleteParameterRequest,
  GetParameterRequest,
  GetParameterResult,
  GetParametersByPathRequest,
  GetParametersByPathResult,
  GetParametersRequest,
  GetParametersResult,
  Parameter,
  PutParameterRequest,
  PutParameterResult,
} from '@aws-sdk/client-ssm';
import type { ActionContext } from '../context.js';
import { isId } from '../ids.js';
import { SsmApiFault, ssmErrors } from '../ssm-errors.js';
import type { ParameterRecord } from '../state.js';
import { visibleImage } from './images.js';

const TYPES = ['String', 'StringList', 'SecureString'] as const;
const DATA_TYPES = ['text', 'aws:ec2:image'] as const;
const NAME_CHARS = /^[A-Za-z0-9_.\-/]+$/;
const MAX_LEVELS = 15;
/** SSM's limit on a name counts the ARN before it (2048 minus the 1037 characters SSM reserves). */
const MAX_ARN_LENGTH = 1011;

const arnOf = (ctx: ActionContext, name: string): string =>
  `arn:aws:ssm:${ctx.regionName}:${ctx.rt.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;

/** The name as SSM stores it (surrounding spaces removed), or SSM's error for a name it refuses. */
export function validName(ctx: ActionContext, raw: string | undefined): string {
  const name = (raw ?? '').trim();
  if (name.length === 0)
    throw ssmErrors.validation(
      "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1.",
    );
  const bare = name.toLowerCase().replace(/^\/+/, '');
  const isPath = name.split('/').length > 2;
  if (name.toLowerCase().startsWith('/aws/') && isPath) {
    throw new SsmApiFault('AccessDeniedException', `No access to reserved parameter name: ${name}.`);
  }
  if (bare.startsWith('aws') || bare.startsWith('ssm') || !NAME_CHARS.test(name)) throw ssmErrors.invalidName();
  if (name.includes('/') && !name.startsWith('/')) {
    throw ssmErrors.validation(
      `Parameter name must be a fully qualified name: ${name} contains a slash, so it must start with one.`,
    );
  }
  if (name.split('/').filter(Boolean).length > MAX_LEVELS) {
    throw new SsmApiFault('HierarchyLevelLimitExceededException', 'A hierarchy can have a maximum of 15 levels.');
  }
  if (arnOf(ctx, name).length > MAX_ARN_LENGTH) {
    throw ssmErrors.validation(
      `Parameter name ${name.slice(0, 40)}… is too long: its ARN must be at most ${MAX_ARN_LENGTH} characters.`,
    );
  }
  return name;
}

/**
 * `aws:ec2:image` values must be AMI ids of images this account can use in the region. SSM checks the
 * format at once and existence asynchronously (the parameter silently never appears); the simulator
 * checks both at once, so a wrong id is visible to the caller.
 */
function assertImageValue(ctx: ActionContext, value: string): void {
  if (!isId('ami', value)) {
    throw ssmErrors.validation(`Parameter value ${value} is not a valid AMI ID for data type aws:ec2:image (expected ami-…).`);
  }
  try {
    visibleImage(ctx.rt, ctx.store, value);
  } catch {
    throw ssmErrors.validation(`The AMI ID ${value} does not exist in ${ctx.regionName} for this account.`);
  }
}

const oneOf = <T extends string>(values: readonly T[], v: string): v is T => (values as readonly string[]).includes(v);

function checkedType(input: PutParameterRequest, previous: ParameterRecord | undefined): ParameterRecord['type'] {
  const type: string | undefined = input.Type ?? previous?.type;
  if (type === undefined) throw ssmErrors.validation('A parameter type is required when you create a parameter.');
  if (!oneOf(TYPES, type)) {
    throw ssmErrors.validation(
      `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
    );
  }
  return type;
}

export function putParameter(ctx: ActionContext, input: PutParameterRequest): PutParameterResult {
  const name = validName(ctx, input.Name);
  const value = input.Value ?? '';
  if (value.length === 0) {
    throw ssmErrors.validation(
      "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.",
    );
  }
  if (input.Overwrite === true && (input.Tags?.length ?? 0) > 0) {
    throw ssmErrors.validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag.",
    );
  }
  const previous = ctx.store.parameters.get(name);
  if (previous && input.Overwrite !== true) throw ssmErrors.alreadyExists();
  const type = checkedType(input, previous);
  const dataType = input.DataType ?? previous?.dataType ?? 'text';
  if (!oneOf(DATA_TYPES, dataType)) {
    throw ssmErrors.validation(`The following data type is not supported: ${dataType} (Data type names are all lowercase.)`);
  }
  if (dataType === 'aws:ec2:image') {
    if (type !== 'String') throw ssmErrors.validation('The data type aws:ec2:image is supported only for String parameters.');
    assertImageValue(ctx, value);
  }
  const record: ParameterRecord = {
    name,
    type,
    value,
    dataType,
    version: (previous?.version ?? 0) + 1,
    lastModifiedAt: ctx.now,
    description: input.Description ?? previous?.description,
    tags: previous?.tags ?? (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
  };
  ctx.store.parameters.set(name, record);
  return { Version: record.version, Tier: 'Standard' };
}

/** A SecureString's value is KMS ciphertext unless decrypted; base64 of the value stands in for it. */
function parameterView(ctx: ActionContext, p: ParameterRecord, withDecryption: boolean): Parameter {
  const value = p.type === 'SecureString' && !withDecryption ? Buffer.from(p.value).toString('base64') : p.value;
  return {
    Name: p.name,
    Type: p.type,
    Value: value,
    Version: p.version,
    LastModifiedDate: new Date(p.lastModifiedAt),
    ARN: arnOf(ctx, p.name),
    DataType: p.dataType,
  };
}

export function getParameter(ctx: ActionContext, input: GetParameterRequest): GetParameterResult {
  const name = (input.Name ?? '').trim();
  const p = ctx.store.parameters.get(name);
  if (!p) throw ssmErrors.notFound(name);
  return { Parameter: parameterView(ctx, p, input.WithDecryption === true) };
}

export function getParameters(ctx: ActionContext, input: GetParametersRequest): GetParametersResult {
  const names = input.Names ?? [];
  if (names.length < 1 || names.length > 10) {
    throw ssmErrors.validation(
      `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10.`,
    );
  }
  const found: Parameter[] = [];
  const invalid: string[] = [];
  for (const raw of new Set(names)) {
    const p = ctx.store.parameters.get(raw.trim());
    if (p) found.push(parameterView(ctx, p, input.WithDecryption === true));
    else invalid.push(raw);
  }
  return { Parameters: found, InvalidParameters: invalid };
}

export function getParametersByPath(ctx: ActionContext, input: GetParametersByPathRequest): GetParametersByPathResult {
  const path = input.Path ?? '';
  if (!path.startsWith('/')) throw ssmErrors.validation('The parameter path must begin with a forward slash (/).');
  const prefix = path.endsWith('/') ? path : `${path}/`;
  const matches = [...ctx.store.parameters.values()]
    .filter((p) => p.name.startsWith(prefix) && (input.Recursive === true || !p.name.slice(prefix.length).includes('/')))
    .sort((a, b) => a.name.localeCompare(b.name));
  const max = input.MaxResults ?? 10;
  if (max < 1 || max > 10) {
    throw ssmErrors.validation(
      `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10.`,
    );
  }
  const start = input.NextToken === undefined ? 0 : Number(Buffer.from(input.NextToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw new SsmApiFault('InvalidNextToken', 'The specified token is not valid.');
  const page = matches.slice(start, start + max);
  const next = start + max < matches.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return { Parameters: page.map((p) => parameterView(ctx, p, input.WithDecryption === true)), NextToken: next };
}

export function deleteParameter(ctx: ActionContext, input: DeleteParameterRequest): Record<string, never> {
  const name = (input.Name ?? '').trim();
  if (!ctx.store.parameters.delete(name)) throw ssmErrors.notFound(name);
  return {};
}
