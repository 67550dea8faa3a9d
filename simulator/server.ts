/**
 * Responsible for the HTTP side of the EC2 Query protocol: read the form-encoded request, find the
 * action and the region (from the SigV4 credential scope; signatures are not verified), apply
 * faults, run the handler, and answer EC2's XML with EC2's status codes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ACTION_TABLE } from './actions/index.js';
import type { ActionContext, Runtime } from './context.js';
import { createControl } from './control.js';
import { Ec2ApiFault, errors } from './errors.js';
import type { Throttle } from './faults.js';
import { newRequestId } from './ids.js';
import type { Action } from './model/actions.js';
import { inputShapeName } from './model/index.js';
import { decodeInput } from './query.js';
import { DEFAULT_REGION } from './seed.js';
import { handleSsm, SSM_CONTENT_TYPE, SSM_TARGET_PREFIX } from './ssm.js';
import type { Stats } from './stats.js';
import { errorXml, successXml } from './xml.js';

export interface SimulatorLogger {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
// EC2 and SSM share the endpoint, so the scope names either service.
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/(?:ec2|ssm)\/aws4_request/;

/** The region a request was signed for: `Credential=AKID/20261125/us-west-2/ec2/aws4_request` (or `/ssm/`). */
export function regionOf(req: IncomingMessage, query: URLSearchParams): string {
  const fromHeader = CREDENTIAL_SCOPE.exec(req.headers.authorization ?? '');
  if (fromHeader?.[1]) return fromHeader[1];
  // Presigned URLs carry the scope in the query string instead.
  const fromQuery = /^[^/]+\/\d{8}\/([a-z0-9-]+)\/(?:ec2|ssm)\/aws4_request$/.exec(query.get('X-Amz-Credential') ?? '');
  return fromQuery?.[1] ?? DEFAULT_REGION;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Ec2ApiFault('RequestEntityTooLarge', 'Request body too large.', 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const isAction = (name: string): name is Action => Object.hasOwn(ACTION_TABLE, name);

export function createSimulatorServer(deps: {
  rt: Runtime;
  stats: Stats;
  throttle: Throttle;
  logger?: SimulatorLogger;
  onMutation: () => void;
}): Server {
  const { rt, stats, throttle, logger } = deps;
  const control = createControl({ rt, stats, throttle, onStateChange: deps.onMutation });

  const handleEc2 = (req: IncomingMessage, url: URL, body: string): { status: number; xml: string } => {
    const requestId = newRequestId();
    const params = new Map<string, string>(url.searchParams);
    const contentType = req.headers['content-type'] ?? '';
    if (body && (contentType === '' || contentType.includes('application/x-www-form-urlencoded'))) {
      for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    }
    const region = regionOf(req, url.searchParams);
    const action = params.get('Action') ?? '';
    const started = Date.now();
    let status = 200;
    let xml: string;
    try {
      if (!action) throw errors.missingParameter('Action');
      stats.call(action, region);
      if (!isAction(action)) throw errors.invalidAction(action);
      const def = ACTION_TABLE[action];
      const shapeName = inputShapeName(action);
      const input = shapeName ? decodeInput(params, shapeName) : {};
      if (!throttle.admit(region, def.mutating, input)) {
        stats.throttled();
        throw errors.requestLimitExceeded();
      }
      if (input.DryRun === true) throw errors.dryRun();
      const ctx: ActionContext = { rt, regionName: region, store: rt.region(region), now: rt.now() };
      const result = def.handle(ctx, input);
      xml = successXml(action, result, requestId);
      if (def.mutating) deps.onMutation();
    } catch (err) {
      const e = err instanceof Ec2ApiFault ? err : errors.internal();
      if (!(err instanceof Ec2ApiFault)) logger?.warn({ err, action, region }, 'simulator handler failed');
      stats.error(e.code);
      status = e.status;
      xml = errorXml(e.code, e.message, requestId);
    }
    logger?.debug({ action, region, status, ms: Date.now() - started, requestId }, 'ec2 request');
    return { status, xml };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://simulator.local');
      const body = await readBody(req);
      if (url.pathname.startsWith('/_simulator/')) {
        const out = control(req.method ?? 'GET', url.pathname, body);
        send(res, out.status, 'application/json', JSON.stringify(out.body));
        return;
      }
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith(SSM_TARGET_PREFIX)) {
        const region = regionOf(req, url.searchParams);
        const out = handleSsm({ ...deps, logger }, target, region, body);
        logger?.debug({ action: `ssm:${out.action}`, region, status: out.status }, 'ssm request');
        send(res, out.status, SSM_CONTENT_TYPE, out.json);
        return;
      }
      const { status, xml } = handleEc2(req, url, body);
      send(res, status, 'text/xml;charset=UTF-8', xml);
    } catch (err) {
      const e = err instanceof Ec2ApiFault ? err : errors.internal();
      if (!(err instanceof Ec2ApiFault)) logger?.warn({ err }, 'simulator request failed');
      if (!res.headersSent) send(res, e.status, 'text/xml;charset=UTF-8', errorXml(e.code, e.message, newRequestId()));
    }
  };

  return createServer((req, res) => void handle(req, res));
}
