/** Call counters for `/_simulator/stats`: benchmarks assert the tracker batches (calls per action and region). */
export interface StatsSnapshot {
  since: string;
  total: number;
  calls: Record<string, number>;
  byRegion: Record<string, Record<string, number>>;
  throttled: number;
  errors: Record<string, number>;
}

export interface Stats {
  call(action: string, region: string): void;
  throttled(): void;
  error(code: string): void;
  snapshot(): StatsSnapshot;
  reset(): void;
}

export function createStats(now: () => number): Stats {
  let s: StatsSnapshot;
  const reset = (): void => {
    s = { since: new Date(now()).toISOString(), total: 0, calls: {}, byRegion: {}, throttled: 0, errors: {} };
  };
  reset();
  return {
    call(action, region) {
      s.total++;
      s.calls[action] = (s.calls[action] ?? 0) + 1;
      const r = (s.byRegion[region] ??= {});
      r[action] = (r[action] ?? 0) + 1;
    },
    throttled() {
      s.throttled++;
    },
    error(code) {
      s.errors[code] = (s.errors[code] ?? 0) + 1;
    },
    snapshot: () => structuredClone(s),
    reset,
  };
}
