import type { RunRecord } from '../run/run-record.js';
import { placeTasks } from './lanes.js';

/** One event of the Trace Event format (the JSON Chrome's tracing and Perfetto load). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'M' | 'i';
  pid: number;
  tid: number;
  /** Microseconds. */
  ts: number;
  dur?: number;
  cat?: string;
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, string>;
}

const PID = 1;
const us = (ms: number): number => Math.round(ms * 1000);

/**
 * A run as a Chrome trace: one row (thread) per worker slot and per restore
 * lane, one slice per task named by its id, with its phases nested inside
 * (hash, restore, run, store) and its cache status as the category; uploads
 * and downloads on rows of their own.
 */
export function toChromeTrace(record: RunRecord): ChromeTrace {
  const { rows, placed } = placeTasks(record);
  const events: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid: PID, tid: 0, ts: 0, args: { name: `Stride run ${record.startedAt}` } }];
  rows.forEach((row, i) => {
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid: i + 1, ts: 0, args: { name: row } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: i + 1, ts: 0, args: { sort_index: i } });
  });
  const critical = new Set(record.criticalPath.actual.ids);
  for (const { task, rowIndex, startMs, endMs } of placed) {
    const tid = rowIndex + 1;
    const { hashMs, restoreMs, runMs, storeMs } = task.phases;
    const waitMs = task.phases.waitMs ?? 0;
    events.push({
      name: task.id,
      cat: task.status === 'success' ? task.cache : task.status,
      ph: 'X',
      pid: PID,
      tid,
      ts: us(startMs),
      dur: us(Math.max(0, endMs - startMs)),
      args: { hash: task.hash, cache: task.cache, status: task.status, criticalPath: critical.has(task.id), estimateMs: task.estimateMs, attempts: task.attempts, ...task.phases },
    });
    // Phases, nested in the task's slice, each clipped to it so the nesting stays exact.
    const phases: Array<[string, number, number]> =
      task.slot !== undefined
        ? [['run', startMs, startMs + runMs], ['store', startMs + runMs, startMs + runMs + storeMs]]
        : [
            ['hash', startMs, startMs + hashMs],
            ['wait for another machine', startMs + hashMs, startMs + hashMs + waitMs],
            ['restore', startMs + hashMs + waitMs, startMs + hashMs + waitMs + restoreMs],
          ];
    for (const [name, from, to] of phases) {
      const a = Math.min(Math.max(from, startMs), endMs);
      const b = Math.min(Math.max(to, a), endMs);
      if (b > a) events.push({ name, cat: 'phase', ph: 'X', pid: PID, tid, ts: us(a), dur: us(b - a) });
    }
  }
  const transfers = record.remote?.transfers ?? [];
  const laneEnds: number[] = [];
  for (const t of [...transfers].sort((a, b) => a.startMs - b.startMs)) {
    let lane = laneEnds.findIndex((end) => end <= t.startMs);
    if (lane === -1) {
      lane = laneEnds.length;
      const tid = rows.length + lane + 1;
      events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, ts: 0, args: { name: `remote ${lane + 1}` } });
      events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, ts: 0, args: { sort_index: rows.length + lane } });
    }
    laneEnds[lane] = Math.max(t.endMs, t.startMs + 1);
    events.push({ name: `${t.direction === 'up' ? 'upload' : 'download'} ${t.taskId}`, cat: t.direction, ph: 'X', pid: PID, tid: rows.length + lane + 1, ts: us(t.startMs), dur: us(t.endMs - t.startMs), args: { bytes: t.bytes } });
  }
  return { traceEvents: events, displayTimeUnit: 'ms', otherData: { tool: 'stride', startedAt: record.startedAt, parallel: String(record.parallel) } };
}
