import { join } from 'node:path';
import type { RemoteStats } from '../remote/remote-cache.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { CacheStatus, TaskOutcome, TaskPhases, TaskStatus } from './runner.js';

/** One task in a run record; times are milliseconds since the run started. */
export interface RunRecordTask {
  id: string;
  hash: string | null;
  cache: CacheStatus;
  status: TaskStatus;
  startMs: number;
  endMs: number;
  /** Where the task's time went: hash (and lookup), restore, run, store. */
  phases: TaskPhases;
}

/** What `.stride/runs/*.json` holds: tests, benchmarks and reports read it. */
export interface RunRecord {
  startedAt: string;
  endedAt: string;
  parallel: number;
  tasks: RunRecordTask[];
  warnings: string[];
  /** Run-wide costs paid before any task: settings, file listing, file-hash cache. */
  setup: Record<string, number>;
  /** Remote traffic, when a remote cache is configured. */
  remote?: RemoteStats;
}

export function buildRunRecord(
  startedAt: number,
  endedAt: number,
  parallel: number,
  outcomes: readonly TaskOutcome[],
  warnings: readonly string[],
  setup: Record<string, number> = {},
  remote?: RemoteStats,
): RunRecord {
  return {
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    parallel,
    tasks: outcomes.map((o) => ({
      id: o.id,
      hash: o.hash,
      cache: o.cache,
      status: o.status,
      startMs: Math.max(0, o.startTime - startedAt),
      endMs: Math.max(0, o.endTime - startedAt),
      phases: o.phases,
    })),
    warnings: [...warnings],
    setup,
    ...(remote ? { remote } : {}),
  };
}

/** Writes `<runsDir>/<timestamp>.json` and `<runsDir>/last.json`, each atomically. */
export async function writeRunRecord(runsDir: string, record: RunRecord): Promise<string> {
  const stamp = record.startedAt.replace(/[:.]/g, '-');
  const file = join(runsDir, `${stamp}-${process.pid}.json`);
  await writeJsonAtomic(file, record);
  await writeJsonAtomic(join(runsDir, 'last.json'), record);
  return file;
}
