import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { errorMessage } from '../util/errors.js';

/** One task's learned duration. */
export interface TimingEntry {
  /** Decaying average of successful runs, in milliseconds. */
  ms: number;
  /** How many runs went into it (capped: old runs have decayed away anyway). */
  runs: number;
  /** Epoch milliseconds of the latest run: merges keep the newer entry, trimming drops the oldest. */
  at: number;
}

/** `.stride/timings.json`, and the bucket's `timings/<scope>.json`. */
export interface TimingsFile {
  version: 1;
  tasks: Record<string, TimingEntry>;
}

/**
 * Weight of the newest run. 0.5 follows a task that got slower within two
 * runs while one outlier (a cold disk, a busy machine) moves it only halfway.
 */
const NEWEST_WEIGHT = 0.5;
const MAX_COUNTED_RUNS = 20;
/** Bound on the file: ~100 bytes an entry, so at most about 1 MB. */
export const MAX_TIMING_ENTRIES = 10_000;
/** Estimate for a task nothing is known about, nor about its target. */
export const DEFAULT_ESTIMATE_MS = 1_000;

const emptyFile = (): TimingsFile => ({ version: 1, tasks: {} });

/**
 * The timing history: what past runs took, per task id, and the estimates the
 * scheduler orders by. A run reads it once, adds its own samples, and saves by
 * re-reading the file under a lock and applying its samples on top, so two runs
 * finishing together both count.
 */
export class TimingHistory {
  private readonly samples: Array<{ id: string; ms: number; at: number }> = [];
  private medians: Map<string, number> | undefined;

  constructor(
    private data: TimingsFile = emptyFile(),
    /** The group a task falls back to when it has no history of its own (its target). */
    private readonly groupOf: (id: string) => string = () => '',
  ) {}

  /** Reads the file; a missing one is an empty history, an unreadable one too (with a warning). */
  static async load(file: string, groupOf?: (id: string) => string): Promise<{ history: TimingHistory; warning?: string }> {
    const { data, warning } = await readTimingsFile(file);
    return { history: new TimingHistory(data, groupOf), ...(warning ? { warning } : {}) };
  }

  get entries(): Readonly<Record<string, TimingEntry>> {
    return this.data.tasks;
  }

  /**
   * What the task is expected to take: its own history; else the median of
   * its group (the same target in other projects); else the default.
   */
  estimate(id: string): number {
    const own = this.data.tasks[id];
    if (own) return own.ms;
    return this.groupMedians().get(this.groupOf(id)) ?? DEFAULT_ESTIMATE_MS;
  }

  /** Where an estimate comes from, for the run record. */
  estimateSource(id: string): 'history' | 'target-median' | 'default' {
    if (this.data.tasks[id]) return 'history';
    return this.groupMedians().has(this.groupOf(id)) ? 'target-median' : 'default';
  }

  /** Counts a successful run of the task. */
  record(id: string, ms: number, at = Date.now()): void {
    this.samples.push({ id, ms, at });
    applySample(this.data, id, ms, at);
    this.medians = undefined;
  }

  /** Takes newer entries from another history (the bucket's) without losing this one's samples. */
  mergeFrom(other: TimingsFile): void {
    this.data = mergeTimings(this.data, other);
    for (const s of this.samples) applySample(this.data, s.id, s.ms, s.at);
    this.medians = undefined;
  }

  toJSON(): TimingsFile {
    return trim(this.data);
  }

  /**
   * Applies this run's samples to what is on disk now and writes it atomically,
   * under a lock file so a concurrent run's samples are not overwritten.
   */
  async save(file: string): Promise<void> {
    if (this.samples.length === 0) return;
    await withLock(`${file}.lock`, async () => {
      const { data } = await readTimingsFile(file);
      for (const s of this.samples) applySample(data, s.id, s.ms, s.at);
      await writeJsonAtomic(file, trim(data));
    });
  }

  private groupMedians(): Map<string, number> {
    if (!this.medians) {
      const byGroup = new Map<string, number[]>();
      for (const [id, entry] of Object.entries(this.data.tasks)) {
        const group = this.groupOf(id);
        byGroup.set(group, [...(byGroup.get(group) ?? []), entry.ms]);
      }
      this.medians = new Map([...byGroup].map(([group, values]) => [group, median(values)]));
    }
    return this.medians;
  }
}

function applySample(data: TimingsFile, id: string, ms: number, at: number): void {
  const old = data.tasks[id];
  data.tasks[id] = old
    ? { ms: Math.round(old.ms + NEWEST_WEIGHT * (ms - old.ms)), runs: Math.min(MAX_COUNTED_RUNS, old.runs + 1), at: Math.max(at, old.at) }
    : { ms: Math.round(ms), runs: 1, at };
}

/** Per task, the entry seen most recently wins. */
export function mergeTimings(a: TimingsFile, b: TimingsFile): TimingsFile {
  const tasks: Record<string, TimingEntry> = { ...a.tasks };
  for (const [id, entry] of Object.entries(b.tasks)) {
    const mine = tasks[id];
    if (!mine || entry.at > mine.at) tasks[id] = entry;
  }
  return { version: 1, tasks };
}

/** Keeps the most recently seen entries, at most MAX_TIMING_ENTRIES. */
function trim(data: TimingsFile, max = MAX_TIMING_ENTRIES): TimingsFile {
  const entries = Object.entries(data.tasks);
  if (entries.length <= max) return { version: 1, tasks: { ...data.tasks } };
  entries.sort((x, y) => y[1].at - x[1].at);
  return { version: 1, tasks: Object.fromEntries(entries.slice(0, max)) };
}

/** Validates a timings document from disk or the bucket; anything malformed is dropped, not trusted. */
export function parseTimings(text: string): TimingsFile {
  const parsed: unknown = JSON.parse(text);
  const out = emptyFile();
  if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1) return out;
  const tasks = (parsed as { tasks?: unknown }).tasks;
  if (typeof tasks !== 'object' || tasks === null) return out;
  for (const [id, value] of Object.entries(tasks)) {
    const { ms, runs, at } = (value ?? {}) as Partial<Record<keyof TimingEntry, unknown>>;
    if (isCount(ms) && isCount(runs) && isCount(at)) out.tasks[id] = { ms, runs, at };
  }
  return trim(out);
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

async function readTimingsFile(file: string): Promise<{ data: TimingsFile; warning?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { data: emptyFile() };
  }
  try {
    return { data: parseTimings(text) };
  } catch (error) {
    return { data: emptyFile(), warning: `ignored the timing history ${file}, which is not valid JSON (${errorMessage(error)}); it is rewritten at the end of this run` };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/** A lock file older than this belongs to a run that died: taken over. */
const STALE_LOCK_MS = 10_000;

/** Runs `job` holding `lockFile` (created exclusively); waits briefly for another holder. */
async function withLock<T>(lockFile: string, job: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          await mkdir(dirname(lockFile), { recursive: true });
          continue;
        }
        throw error;
      }
      const age = await stat(lockFile).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS || attempt > 200) await rm(lockFile, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
  }
  try {
    return await job();
  } finally {
    await rm(lockFile, { force: true });
  }
}
