// Responsible for the request id: the caller's `x-request-id` when it is a sane token (so a proxy's
// or client's id joins our logs), otherwise a new UUID. Anything else could forge log lines.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Settles the request's id before any route runs: it is answered back and written onto the request
 * itself, so every later reader (the routes, yoga's context through its Fetch Request) sees this one.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const requestId = settleRequestId(req);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  return requestId;
}

/** The same rule without a response to answer on (a WebSocket upgrade: the id names the connection). */
export function settleRequestId(req: IncomingMessage): string {
  const given = firstValue(req.headers[REQUEST_ID_HEADER]);
  const requestId = given && ACCEPTED.test(given) ? given : randomUUID();
  req.headers[REQUEST_ID_HEADER] = requestId;
  return requestId;
}

/** The id assignRequestId settled for this request. */
export function requestIdOf(req: IncomingMessage): string {
  return firstValue(req.headers[REQUEST_ID_HEADER]) ?? '';
}

function firstValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}
