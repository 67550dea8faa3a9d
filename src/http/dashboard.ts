// Responsible for serving the web dashboard (web/dist, built by `npm run build`) at / beside the
// API: hashed assets cached for good, index.html revalidated on every load, gzip when accepted,
// and a short page that says how to build it when web/dist is missing.
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HttpRoute } from './router.js';

/** web/dist from src/http (tsx) and from dist/http (tsc output) alike. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);

/** Vite names every file under assets/ by its content hash: it never changes, so cache it for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface CachedFile {
  key: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
}

export function createDashboardRoute(options: { dir?: string } = {}): HttpRoute {
  const root = normalize(options.dir ?? DEFAULT_DASHBOARD_DIR);
  const cache = new Map<string, CachedFile>();

  async function load(file: string): Promise<CachedFile | undefined> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const key = `${info.size}-${Math.trunc(info.mtimeMs)}`;
    const cached = cache.get(file);
    if (cached?.key === key) return cached;
    const body = await readFile(file);
    const entry: CachedFile = {
      key,
      body,
      gzip: COMPRESSIBLE.has(extname(file)) && body.length > 1024 ? gzipSync(body) : undefined,
      etag: `W/"${key}"`,
    };
    cache.set(file, entry);
    return entry;
  }

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return false;
    }
    const isPage = path === '/' || path === '/index.html';
    // Only files inside web/dist; anything else (a traversal, an unknown path) is not ours.
    const file = normalize(join(root, isPage ? 'index.html' : path));
    if (path.includes('\0') || !file.startsWith(root.endsWith(sep) ? root : root + sep)) return false;

    const entry = await load(file);
    if (!entry) {
      if (!isPage) return false;
      send(req, res, 200, notBuiltPage(req), { 'content-type': TYPES['.html']!, 'cache-control': 'no-store' });
      return true;
    }
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': path.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
      etag: entry.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
    };
    if (isPage) Object.assign(headers, pageSecurityHeaders(req));
    if (req.headers['if-none-match'] === entry.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) headers['content-encoding'] = 'gzip';
    send(req, res, 200, gzip ? entry.gzip! : entry.body, headers);
    return true;
  };
}

/**
 * The page receives the token in its address (/?token=…): never send it on as a referrer, never
 * let another site frame the page, and load nothing but this server's own files.
 */
function pageSecurityHeaders(req: IncomingMessage): Record<string, string> {
  const host = req.headers.host ?? '';
  // 'self' covers same-host WebSockets in current browsers; older ones need them named.
  const ws = /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy':
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'${ws}; ` +
      `object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Buffer | string,
  headers: Record<string, string>,
): void {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'content-length': String(buffer.length) });
  res.end(req.method === 'HEAD' ? undefined : buffer);
}

function notBuiltPage(req: IncomingMessage): string {
  // Keep the sign-in link working: GraphiQL accepts the same ?token= (a token is base64url).
  const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
  const api = /^[A-Za-z0-9_-]{1,200}$/.test(token) ? `/graphql?token=${token}` : '/graphql';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>prism-ami</title></head>
<body>
<h1>prism-ami</h1>
<p>The web dashboard has not been built. Run <code>npm run build</code> (or <code>npm run build:web</code>) in the project folder, then reload this page.</p>
<p>The GraphQL API and GraphiQL are at <a href="${api}">/graphql</a>.</p>
</body>
</html>
`;
}
