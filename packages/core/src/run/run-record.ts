import { join } from 'node:path';
import type { RemoteStats } from '../remote/remote-cache.js';
import { type CriticalPath, observedCriticalPath, predictedCriticalPath, type TaskDag } from '../schedule/critical-path.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { safeWarning } from '../util/secrets.js';
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
  /** What the scheduler expected the task to take if it had to run. */
  estimateMs: number;
  /** Runs of the task (1 + retries used); 0 when restored or skipped. */
  attempts: number;
  /** Succeeded only on a retry. */
  flaky: boolean;
  /** The worker slot it ran in (absent when restored or skipped). */
  slot?: number;
  /** For a restored task, the run time it saved (its duration when it ran). */
  savedMs: number;
  /** The tasks of this run it waited for. */
  dependencies: string[];
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
  /**
   * The longest chain by the estimates the run was scheduled with, and the
   * chain that actually decided when the run ended.
   */
  criticalPath: { predicted: CriticalPath; actual: CriticalPath };
  /** Remote traffic, when a remote cache is configured. */
  remote?: RemoteStats;
}

export interface RunRecordInput {
  startedAt: number;
  endedAt: number;
  parallel: number;
  dag: TaskDag;
  estimateMs: (id: string) => number;
  outcomes: readonly TaskOutcome[];
  warnings: readonly string[];
  setup?: Record<string, number>;
  remote?: RemoteStats;
}

/** What a task itself took: hashing, restoring, running and storing, without waiting for a slot or another machine. */
export function ownMs(phases: TaskPhases): number {
  return phases.hashMs + phases.restoreMs + phases.runMs + phases.storeMs;
}

export function buildRunRecord(input: RunRecordInput): RunRecord {
  const { startedAt, outcomes } = input;
  // What each task itself took (hash, restore, run, store): time it waited for a worker slot or for another shard is not its own.
  const durations = new Map<string, number>(outcomes.filter((o) => o.status !== 'skipped').map((o) => [o.id, ownMs(o.phases)]));
  return {
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(input.endedAt).toISOString(),
    parallel: input.parallel,
    tasks: outcomes.map((o) => ({
      id: o.id,
      hash: o.hash,
      cache: o.cache,
      status: o.status,
      startMs: Math.max(0, o.startTime - startedAt),
      endMs: Math.max(0, o.endTime - startedAt),
      phases: o.phases,
      estimateMs: o.estimateMs,
      attempts: o.attempts,
      flaky: o.flaky,
      ...(o.slot !== undefined ? { slot: o.slot } : {}),
      savedMs: o.savedMs,
      dependencies: [...(input.dag.dependencies[o.id] ?? [])],
    })),
    // Records are read by people, reports and the PR role's artifacts of CI: no secret, no raw control character.
    warnings: input.warnings.map((w) => safeWarning(w)),
    setup: input.setup ?? {},
    criticalPath: { predicted: predictedCriticalPath(input.dag, input.estimateMs), actual: observedCriticalPath(input.dag, durations) },
    ...(input.remote ? { remote: { ...input.remote, refusedObjects: input.remote.refusedObjects.map(safeRefusal), transfers: input.remote.transfers.map((t) => ({ ...t, startMs: Math.max(0, t.startMs - startedAt), endMs: Math.max(0, t.endMs - startedAt) })) } } : {}),
  };
}

/** A refused object's fields came (in part) from the bucket: escaped, and masked like any warning. */
function safeRefusal(refusal: { taskId: string; key: string; reason: string }): { taskId: string; key: string; reason: string } {
  return { taskId: safeWarning(refusal.taskId), key: safeWarning(refusal.key), reason: safeWarning(refusal.reason) };
}

/** Writes `<runsDir>/<timestamp>.json` and `<runsDir>/last.json`, each atomically. */
export async function writeRunRecord(runsDir: string, record: RunRecord): Promise<string> {
  const stamp = record.startedAt.replace(/[:.]/g, '-');
  const file = join(runsDir, `${stamp}-${process.pid}.json`);
  await writeJsonAtomic(file, record);
  await writeJsonAtomic(join(runsDir, 'last.json'), record);
  return file;
}
