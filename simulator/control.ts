/**
 * Responsible for the simulator's own HTTP surface under `/_simulator/` (not EC2): stats for
 * benchmarks, runtime configuration for tests and demos, and a reset to the seeded state.
 *
 *   GET  /_simulator/stats         call counts by action and region, throttled and error counts
 *   POST /_simulator/stats/reset
 *   GET  /_simulator/config
 *   POST /_simulator/config        {"speedGiBPerSecond"|"speed", "throttleRate", "failRate", "blockPublicAccess", "tokenBucket",
 *                                   "maxConcurrentCopies"}
 *   POST /_simulator/reset         every region back to a fresh simulator's state
 */
import { z } from 'zod';
import type { Runtime, SimConfig } from './context.js';
import type { Throttle } from './faults.js';
import type { Stats } from './stats.js';
import { changeSpeed } from './state.js';

const configPatch = z
  .object({
    speedGiBPerSecond: z.number().positive().optional(),
    speed: z.number().positive().optional(),
    throttleRate: z.number().min(0).max(1).optional(),
    failRate: z.number().min(0).max(1).optional(),
    blockPublicAccess: z.boolean().optional(),
    tokenBucket: z.boolean().optional(),
    maxConcurrentCopies: z.number().int().min(1).optional(),
  })
  .strict();

export interface ControlResponse {
  status: number;
  body: unknown;
}

export function createControl(deps: {
  rt: Runtime;
  stats: Stats;
  throttle: Throttle;
  onStateChange: () => void;
}): (method: string, path: string, body: string) => ControlResponse {
  const { rt, stats, throttle } = deps;

  const applyConfig = (raw: string): ControlResponse => {
    let json: unknown;
    try {
      json = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch {
      return { status: 400, body: { error: 'body must be JSON' } };
    }
    const parsed = configPatch.safeParse(json);
    if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    const { speed, speedGiBPerSecond, ...rest } = parsed.data;
    const newSpeed = speedGiBPerSecond ?? speed;
    if (newSpeed !== undefined && newSpeed !== rt.config.speedGiBPerSecond) {
      // Re-anchor in-flight snapshots so the new speed applies from now without a jump in progress.
      for (const region of rt.regions.values()) changeSpeed(region, rt.now(), newSpeed);
      rt.config.speedGiBPerSecond = newSpeed;
      deps.onStateChange();
    }
    Object.assign(rt.config, rest satisfies Partial<SimConfig>);
    return { status: 200, body: rt.config };
  };

  return (method, path, body) => {
    const route = `${method} ${path.replace(/\/+$/, '')}`;
    switch (route) {
      case 'GET /_simulator/stats':
        return { status: 200, body: stats.snapshot() };
      case 'POST /_simulator/stats/reset':
        stats.reset();
        return { status: 200, body: stats.snapshot() };
      case 'GET /_simulator/config':
        return { status: 200, body: rt.config };
      case 'POST /_simulator/config':
        return applyConfig(body);
      case 'POST /_simulator/reset':
        rt.regions.clear();
        throttle.reset();
        deps.onStateChange();
        return { status: 200, body: { reset: true } };
      default:
        return { status: 404, body: { error: `no simulator route ${route}` } };
    }
  };
}
