// Responsible for the one body-size rule of every route that reads a body: a declared length over
// the limit is refused before a byte is read, and a body read here stops at the limit, so no request
// makes the server buffer more than MAX_BODY_BYTES.
import type { IncomingMessage } from 'node:http';

export class BodyLimitError extends Error {
  constructor(
    readonly status: 411 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'BodyLimitError';
  }

  get code(): 'LENGTH_REQUIRED' | 'PAYLOAD_TOO_LARGE' {
    return this.status === 411 ? 'LENGTH_REQUIRED' : 'PAYLOAD_TOO_LARGE';
  }
}

/**
 * Why `req`'s body is refused before it is read, if it is. `lengthRequired` is for readers that
 * buffer a body without counting (yoga): a chunked body could be any size, so it needs a declared length.
 */
export function bodyLimitProblem(
  req: IncomingMessage,
  maxBytes: number,
  options: { lengthRequired: boolean },
): BodyLimitError | undefined {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(maxBytes);
  if (options.lengthRequired && !req.headers['content-length'] && req.headers['transfer-encoding']) {
    return new BodyLimitError(411, 'A Content-Length header is required');
  }
  return undefined;
}

/** The whole body as UTF-8 text; throws a BodyLimitError as soon as it is larger than maxBytes. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const refused = bodyLimitProblem(req, maxBytes, { lengthRequired: false });
  if (refused) {
    req.resume();
    throw refused;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(maxBytes: number): BodyLimitError {
  return new BodyLimitError(413, `Request body larger than ${maxBytes} bytes`);
}
