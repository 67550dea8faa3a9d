/**
 * Responsible for the optional state file: loaded once at start, written (atomically: temp file,
 * then rename) shortly after mutations and on stop. Records hold absolute times, so snapshots that
 * were in flight keep progressing from where the clock says after a restart.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dumpRegion, loadRegion, type PersistedRegion, type RegionStore } from './state.js';

interface PersistedState {
  version: 1;
  accountId: string;
  savedAt: string;
  regions: Record<string, PersistedRegion>;
}

/** The stored regions, or undefined when there is no file yet. A corrupt file stops start-up. */
export function readState(path: string): Map<string, RegionStore> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: PersistedState;
  try {
    parsed = JSON.parse(text) as PersistedState;
  } catch (err) {
    throw new Error(`simulator state file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed.version !== 1 || typeof parsed.regions !== 'object') {
    throw new Error(`simulator state file ${path} has an unknown format (version ${String(parsed.version)})`);
  }
  return new Map(Object.entries(parsed.regions).map(([name, r]) => [name, loadRegion(r)]));
}

export interface Saver {
  schedule(): void;
  flush(): Promise<void>;
}

export function createSaver(args: {
  path: string;
  accountId: string;
  regions: () => Map<string, RegionStore>;
  now: () => number;
  debounceMs?: number;
  onError: (err: unknown) => void;
}): Saver {
  const debounceMs = args.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  // Writes are chained so two saves never interleave their rename.
  let chain: Promise<void> = Promise.resolve();

  const write = async (): Promise<void> => {
    if (!dirty) return;
    dirty = false;
    const doc: PersistedState = {
      version: 1,
      accountId: args.accountId,
      savedAt: new Date(args.now()).toISOString(),
      regions: Object.fromEntries([...args.regions()].map(([name, r]) => [name, dumpRegion(r)])),
    };
    const tmp = `${args.path}.${process.pid}.tmp`;
    await mkdir(dirname(args.path), { recursive: true });
    await writeFile(tmp, JSON.stringify(doc));
    await rename(tmp, args.path);
  };
  const enqueue = (): Promise<void> => {
    chain = chain.then(write).catch(args.onError);
    return chain;
  };

  return {
    schedule() {
      dirty = true;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void enqueue();
      }, debounceMs);
      // A pending save must not keep a process alive on its own; stop() flushes it anyway.
      timer.unref();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await enqueue();
    },
  };
}
