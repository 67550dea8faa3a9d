// Responsible for the request id: the caller's `x-request-id` when it is a sane token (so a proxy's
// or client's id joins our logs), otherwise a new UUID. Anything else could forge log lines.
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && ACCEPTED.test(value) ? value : randomUUID();
}
