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
  /** Bytes of the task's own input files at its latest run, when known: what a new task's estimate scales by. */
  bytes?: number;
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
/**
 * Bound on any duration read from a history (local file or bucket) or
 * estimated from one: no build task Stride schedules takes a day, and a
 * poisoned history (`ms: 1e15`) must not skew a shard split or make a machine
 * wait for ever. Larger values are clamped, non-finite ones dropped.
 */
export const MAX_ESTIMATE_MS = 24 * 60 * 60 * 1000;
/** How far in the future a sample's `at` may lie (clock skew between machines); later ones are read as now, so they cannot outlive every genuine sample. */
const MAX_CLOCK_SKEW_MS = 60 * 60 * 1000;
/** Estimate for a task nothing is known about, nor about its target. */
export const DEFAULT_ESTIMATE_MS = 1_000;
/**
 * A new task's input size refines its target's median only when the target's
 * recorded tasks show that size predicts duration: at least this many samples
 * of different sizes, a positive slope, and at least this share of the
 * variance explained by the line. Even then the estimate stays within a factor
 * of SIZE_CLAMP of the median, since size is only a proxy for work.
 */
const SIZE_FIT_MIN_SAMPLES = 3;
const SIZE_FIT_MIN_R2 = 0.5;
const SIZE_CLAMP = 4;

export type EstimateSource = 'history' | 'input-size' | 'target-median' | 'default';
/** A task's input bytes, or how to get them: asked for only when its target's history makes size useful. */
export type InputSize = number | (() => number | undefined);

const emptyFile = (): TimingsFile => ({ version: 1, tasks: {} });

/**
 * The timing history: what past runs took, per task id, and the estimates the
 * scheduler orders by. A run reads it once, adds its own samples, and saves by
 * re-reading the file under a lock and applying its samples on top, so two runs
 * finishing together both count.
 */
export class TimingHistory {
  private readonly samples: Array<{ id: string; ms: number; at: number; bytes?: number }> = [];
  private medians: Map<string, number> | undefined;
  private sizeFits: Map<string, SizeFit | undefined> | undefined;

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
   * its group (the same target in other projects), refined by the task's input
   * size where the group's history shows that size predicts duration; else the
   * default. A task's own history is never rescaled by size: it already
   * reflects that project's real work, and one new large file would overreact.
   */
  estimate(id: string, inputBytes?: InputSize): number {
    return Math.min(MAX_ESTIMATE_MS, this.estimateWithSource(id, inputBytes).ms);
  }

  /** Where an estimate comes from, for the run record and `stride shard`. */
  estimateSource(id: string, inputBytes?: InputSize): EstimateSource {
    return this.estimateWithSource(id, inputBytes).source;
  }

  /** Counts a successful run of the task (and its input size, when known). */
  record(id: string, ms: number, at = Date.now(), bytes?: number): void {
    this.samples.push({ id, ms, at, ...(bytes !== undefined ? { bytes } : {}) });
    applySample(this.data, id, ms, at, bytes);
    this.medians = undefined;
    this.sizeFits = undefined;
  }

  private estimateWithSource(id: string, inputSize: InputSize | undefined): { ms: number; source: EstimateSource } {
    const own = this.data.tasks[id];
    if (own) return { ms: own.ms, source: 'history' };
    const group = this.groupOf(id);
    const groupMedian = this.groupMedians().get(group);
    if (groupMedian === undefined) return { ms: DEFAULT_ESTIMATE_MS, source: 'default' };
    const fit = inputSize !== undefined ? this.sizeFit(group) : undefined;
    const inputBytes = fit ? (typeof inputSize === 'function' ? inputSize() : inputSize) : undefined;
    if (!fit || inputBytes === undefined) return { ms: groupMedian, source: 'target-median' };
    const predicted = fit.intercept + fit.slope * inputBytes;
    return { ms: Math.round(Math.min(groupMedian * SIZE_CLAMP, Math.max(groupMedian / SIZE_CLAMP, predicted))), source: 'input-size' };
  }

  /** Least squares of duration on input size over the group's recorded tasks; undefined where size does not help. */
  private sizeFit(group: string): SizeFit | undefined {
    this.sizeFits ??= new Map();
    if (!this.sizeFits.has(group)) {
      const points = Object.entries(this.data.tasks)
        .filter(([id, entry]) => entry.bytes !== undefined && this.groupOf(id) === group)
        .map(([, entry]) => [entry.bytes as number, entry.ms] as const);
      this.sizeFits.set(group, fitLine(points));
    }
    return this.sizeFits.get(group);
  }

  /** Takes newer entries from another history (the bucket's) without losing this one's samples. */
  mergeFrom(other: TimingsFile): void {
    this.data = mergeTimings(this.data, other);
    for (const s of this.samples) applySample(this.data, s.id, s.ms, s.at, s.bytes);
    this.medians = undefined;
    this.sizeFits = undefined;
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
      for (const s of this.samples) applySample(data, s.id, s.ms, s.at, s.bytes);
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

function applySample(data: TimingsFile, id: string, ms: number, at: number, bytes?: number): void {
  const old = data.tasks[id];
  const size = bytes ?? old?.bytes;
  ms = Math.min(MAX_ESTIMATE_MS, Math.max(0, ms));
  data.tasks[id] = {
    ...(old
      ? { ms: Math.round(old.ms + NEWEST_WEIGHT * (ms - old.ms)), runs: Math.min(MAX_COUNTED_RUNS, old.runs + 1), at: Math.max(at, old.at) }
      : { ms: Math.round(ms), runs: 1, at }),
    ...(size !== undefined ? { bytes: size } : {}),
  };
}

interface SizeFit {
  intercept: number;
  slope: number;
}

/** Ordinary least squares, kept only when it says something: enough points, a positive slope, r² high enough. */
function fitLine(points: ReadonlyArray<readonly [number, number]>): SizeFit | undefined {
  const n = points.length;
  if (n < SIZE_FIT_MIN_SAMPLES) return undefined;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  if (sxx === 0 || syy === 0) return undefined;
  const slope = sxy / sxx;
  const r2 = (sxy * sxy) / (sxx * syy);
  if (slope <= 0 || r2 < SIZE_FIT_MIN_R2) return undefined;
  return { intercept: meanY - slope * meanX, slope };
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
export function parseTimings(text: string, now = Date.now()): TimingsFile {
  return timingsFromJson(JSON.parse(text), now);
}

/**
 * The same, from parsed JSON. Entries are bounded: durations over
 * MAX_ESTIMATE_MS are clamped to it, sample times in the future read as now,
 * run counts capped; non-finite or negative numbers drop the entry.
 */
export function timingsFromJson(parsed: unknown, now = Date.now()): TimingsFile {
  const out = emptyFile();
  if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1) return out;
  const tasks = (parsed as { tasks?: unknown }).tasks;
  if (typeof tasks !== 'object' || tasks === null) return out;
  for (const [id, value] of Object.entries(tasks)) {
    const { ms, runs, at, bytes } = (value ?? {}) as Partial<Record<keyof TimingEntry, unknown>>;
    if (!isCount(ms) || !isCount(runs) || !isCount(at)) continue;
    out.tasks[id] = {
      ms: Math.min(MAX_ESTIMATE_MS, ms),
      runs: Math.min(MAX_COUNTED_RUNS, runs),
      at: at > now + MAX_CLOCK_SKEW_MS ? now : at,
      ...(isCount(bytes) ? { bytes } : {}),
    };
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
