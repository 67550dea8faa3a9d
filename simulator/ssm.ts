/**
 * Responsible for SSM's side of the endpoint: the AWS JSON 1.1 protocol (POST, `X-Amz-Target:
 * AmazonSSM.<Action>`, a JSON body; JSON answers with timestamps as epoch seconds), on the same port
 * as EC2 so that one endpoint URL serves both (`AWS_ENDPOINT_URL_SSM`, `aws ssm --endpoint-url`).
 */
import type { ActionContext, Runtime } from './context.js';
import { deleteParameter, getParameter, getParameters, getParametersByPath, putParameter } from './actions/parameters.js';
import type { Throttle } from './faults.js';
import type { SimulatorLogger } from './server.js';
import { SsmApiFault, ssmErrors } from './ssm-errors.js';
import type { Stats } from './stats.js';

export const SSM_TARGET_PREFIX = 'AmazonSSM.';
export const SSM_CONTENT_TYPE = 'application/x-amz-json-1.1';

interface SsmActionDef {
  mutating: boolean;
  handle(ctx: ActionContext, input: Record<string, unknown>): unknown;
}

// JSON.parse gives the request as the SDK sent it, in the shape its request type describes.
const def = <I>(mutating: boolean, handle: (ctx: ActionContext, input: I) => unknown): SsmActionDef => ({
  mutating,
  handle: (ctx, input) => handle(ctx, input as I),
});

const SSM_ACTIONS: Record<string, SsmActionDef> = {
  PutParameter: def(true, putParameter),
  GetParameter: def(false, getParameter),
  GetParameters: def(false, getParameters),
  GetParametersByPath: def(false, getParametersByPath),
  DeleteParameter: def(true, deleteParameter),
};

export const SSM_ACTION_NAMES = Object.keys(SSM_ACTIONS);

/** AWS JSON writes timestamps as epoch seconds (fractional), which both the SDK and botocore read. */
const toJson = (result: unknown): string =>
  JSON.stringify(result, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });

function parseBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw ssmErrors.serialization();
    return parsed as Record<string, unknown>;
  } catch {
    throw ssmErrors.serialization();
  }
}

export function handleSsm(
  deps: { rt: Runtime; stats: Stats; throttle: Throttle; onMutation: () => void; logger?: SimulatorLogger },
  target: string,
  region: string,
  body: string,
): { status: number; json: string; action: string } {
  const action = target.slice(SSM_TARGET_PREFIX.length);
  try {
    deps.stats.call(`ssm:${action}`, region);
    const handler = Object.hasOwn(SSM_ACTIONS, action) ? SSM_ACTIONS[action] : undefined;
    if (!handler) throw ssmErrors.unknownOperation(target);
    const input = parseBody(body);
    if (!deps.throttle.admit(region, handler.mutating, input)) {
      deps.stats.throttled();
      throw ssmErrors.throttling();
    }
    const ctx: ActionContext = { rt: deps.rt, regionName: region, store: deps.rt.region(region), now: deps.rt.now() };
    const json = toJson(handler.handle(ctx, input));
    if (handler.mutating) deps.onMutation();
    return { status: 200, json, action };
  } catch (err) {
    const e = err instanceof SsmApiFault ? err : ssmErrors.internal();
    if (!(err instanceof SsmApiFault)) deps.logger?.warn({ err, action, region }, 'simulator SSM handler failed');
    deps.stats.error(e.code);
    return { status: e.status, json: JSON.stringify({ __type: e.code, message: e.message }), action };
  }
}
