import type { Services } from '../services/index.js';
import type { RequestSnapshot, Viewer } from '../services/viewer.js';

/** Per-request (or per-WebSocket-connection) context. */
export interface Context {
  viewer: Viewer;
  /** HTTP requests only: what was read with the credentials. */
  snapshot?: RequestSnapshot;
  services: Services;
  requestId: string;
}
