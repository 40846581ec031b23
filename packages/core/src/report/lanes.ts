import type { RunRecord, RunRecordTask } from '../run/run-record.js';

/** Where a task sits on a timeline: its row and the span drawn there, run-relative milliseconds. */
export interface Placed {
  task: RunRecordTask;
  /** `slot 1`, `restore 2`: rows of the same kind are numbered from 1. */
  row: string;
  rowIndex: number;
  startMs: number;
  endMs: number;
}

/**
 * Lays a run out in rows: one per worker slot for the tasks that ran (the slot
 * the runner gave them, from the moment they took it), then as many rows as
 * needed for restores and lookups (they take no slot, so several overlap), then
 * skipped tasks at the moment they were skipped.
 */
export function placeTasks(record: RunRecord): { rows: string[]; placed: Placed[] } {
  const placed: Placed[] = [];
  const rows: string[] = [];
  for (let slot = 0; slot < record.parallel; slot++) rows.push(`slot ${slot + 1}`);
  const ran = record.tasks.filter((t) => t.slot !== undefined);
  for (const task of ran) {
    const slot = task.slot as number;
    while (rows.length <= slot) rows.push(`slot ${rows.length + 1}`);
    const startMs = Math.max(task.startMs, task.endMs - task.phases.runMs - task.phases.storeMs);
    placed.push({ task, row: rows[slot] as string, rowIndex: slot, startMs, endMs: task.endMs });
  }
  const slotRows = rows.length;
  const others = record.tasks.filter((t) => t.slot === undefined).sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const laneEnds: number[] = [];
  for (const task of others) {
    let lane = laneEnds.findIndex((end) => end <= task.startMs);
    if (lane === -1) {
      lane = laneEnds.length;
      rows.push(`restore ${lane + 1}`);
    }
    // A zero-length slice still needs its own place to be seen.
    laneEnds[lane] = Math.max(task.endMs, task.startMs + 1);
    placed.push({ task, row: rows[slotRows + lane] as string, rowIndex: slotRows + lane, startMs: task.startMs, endMs: task.endMs });
  }
  return { rows, placed };
}

/** Seconds for people: `850ms`, `4.3s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** How long a run took, wall clock. */
export function wallMs(record: RunRecord): number {
  return Date.parse(record.endedAt) - Date.parse(record.startedAt);
}
