// Responsible for the one body-size rule of every route that reads a body: a declared length over
// the limit is refused before a byte is kept, and a body read here stops keeping bytes at the limit,
// so no request makes the server buffer more than MAX_BODY_BYTES. A refused body is still read (and
// thrown away) up to a bound before the answer: a client that is still sending when the server
// closes sees EPIPE instead of the 413 (Node's fetch does), so every client can read the answer.
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** At most this many bytes of a refused body are read and discarded; past it the connection just closes. */
export function discardBound(maxBytes: number): number {
  return Math.max(4 * maxBytes, 16 * 1024 * 1024);
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

/**
 * The whole body as UTF-8 text. A body larger than maxBytes rejects with a BodyLimitError once it
 * has been read to its end, so the caller's 413 reaches the client; past discardBound the connection closes.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const refused = bodyLimitProblem(req, maxBytes, { lengthRequired: false });
  if (refused) {
    await discardBody(req, maxBytes);
    throw refused;
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (chunks.length) chunks.length = 0;
      if (size > discardBound(maxBytes)) {
        reject(tooLarge(maxBytes));
        req.destroy();
      }
    });
    req.once('end', () => (size > maxBytes ? reject(tooLarge(maxBytes)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.once('error', reject);
    req.once('close', () => reject(new Error('the client closed the request before its body ended')));
  });
}

/** Reads and throws away what is left of `req`'s body; past discardBound the connection is closed unanswered. */
export function discardBody(req: IncomingMessage, maxBytes: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > discardBound(maxBytes)) {
        resolve();
        req.destroy();
      }
    });
    req.once('end', () => resolve());
    req.once('error', () => resolve());
    req.once('close', () => resolve());
    req.resume();
  });
}

/** Answers a refused body once it has been discarded, and closes the connection after the answer. */
export async function answerRefusedBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  answer: { status: number; headers: Record<string, string>; body: string },
): Promise<void> {
  await discardBody(req, maxBytes);
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.status, { ...answer.headers, connection: 'close' });
  res.end(answer.body);
}

function tooLarge(maxBytes: number): BodyLimitError {
  return new BodyLimitError(413, `Request body larger than ${maxBytes} bytes (MAX_BODY_BYTES)`);
}
