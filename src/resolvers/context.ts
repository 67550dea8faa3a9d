import type { Services } from '../services/index.js';
import type { Viewer } from '../services/viewer.js';

/** Per-request (or per-WebSocket-connection) context. */
export interface Context {
  viewer: Viewer;
  services: Services;
  requestId: string;
}
