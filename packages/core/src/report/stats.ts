import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../run/run-record.js';
import { wallMs } from './lanes.js';

export interface TargetStats {
  target: string;
  tasks: number;
  restored: number;
  hitRate: number;
}

export interface TaskDurationStats {
  id: string;
  runs: number;
  meanMs: number;
  /** Standard deviation over mean: how much its run time varies. */
  variation: number;
  flakyRuns: number;
}

export interface RunStats {
  runs: number;
  /** Records that could not be read, skipped. */
  unreadable: number;
  savedMs: number;
  byTarget: TargetStats[];
  slowest: TaskDurationStats[];
  mostVariable: TaskDurationStats[];
  /** Oldest first. */
  trend: Array<{ startedAt: string; wallMs: number; tasks: number; ran: number; restored: number; failed: number }>;
}

/** Reads every run record under `runsDir` (not `last.json`, a copy of the newest), oldest first. */
export async function readRunRecords(runsDir: string): Promise<{ records: RunRecord[]; unreadable: number }> {
  let names: string[];
  try {
    names = (await readdir(runsDir)).filter((n) => n.endsWith('.json') && n !== 'last.json');
  } catch {
    return { records: [], unreadable: 0 };
  }
  const records: RunRecord[] = [];
  let unreadable = 0;
  for (const name of names) {
    try {
      const record = JSON.parse(await readFile(join(runsDir, name), 'utf8')) as RunRecord;
      if (!Array.isArray(record.tasks) || typeof record.startedAt !== 'string') throw new Error('not a run record');
      records.push(record);
    } catch {
      unreadable++;
    }
  }
  records.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return { records, unreadable };
}

/** Figures over many runs; `groupOf` maps a task id to its target (`build`). */
export function computeStats(records: readonly RunRecord[], groupOf: (id: string) => string, unreadable = 0, top = 10): RunStats {
  const targets = new Map<string, { tasks: number; restored: number }>();
  const durations = new Map<string, { samples: number[]; flaky: number }>();
  let savedMs = 0;
  for (const record of records) {
    for (const task of record.tasks) {
      if (task.status === 'skipped') continue;
      const target = targets.get(groupOf(task.id)) ?? { tasks: 0, restored: 0 };
      target.tasks++;
      if (task.cache !== 'miss' && task.status === 'success') target.restored++;
      targets.set(groupOf(task.id), target);
      savedMs += task.savedMs ?? 0;
      if (task.cache === 'miss' && task.status === 'success') {
        const entry = durations.get(task.id) ?? { samples: [], flaky: 0 };
        entry.samples.push(task.phases.runMs);
        if (task.flaky) entry.flaky++;
        durations.set(task.id, entry);
      }
    }
  }
  const perTask: TaskDurationStats[] = [...durations].map(([id, { samples, flaky }]) => {
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
    return { id, runs: samples.length, meanMs: Math.round(mean), variation: mean > 0 ? Number((sd / mean).toFixed(3)) : 0, flakyRuns: flaky };
  });
  return {
    runs: records.length,
    unreadable,
    savedMs,
    byTarget: [...targets]
      .map(([target, t]) => ({ target, tasks: t.tasks, restored: t.restored, hitRate: t.tasks > 0 ? Number((t.restored / t.tasks).toFixed(3)) : 0 }))
      .sort((a, b) => a.target.localeCompare(b.target)),
    slowest: [...perTask].sort((a, b) => b.meanMs - a.meanMs).slice(0, top),
    mostVariable: perTask.filter((t) => t.runs >= 3 || t.flakyRuns > 0).sort((a, b) => b.flakyRuns - a.flakyRuns || b.variation - a.variation).slice(0, 5),
    trend: records.map((r) => ({
      startedAt: r.startedAt,
      wallMs: wallMs(r),
      tasks: r.tasks.length,
      ran: r.tasks.filter((t) => t.cache === 'miss' && t.status === 'success').length,
      restored: r.tasks.filter((t) => t.cache !== 'miss' && t.status === 'success').length,
      failed: r.tasks.filter((t) => t.status === 'failure').length,
    })),
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The stats for a person, in a terminal. */
export function formatStats(stats: RunStats): string {
  if (stats.runs === 0) return 'No Stride run records yet (.stride/runs): run some tasks first.\n';
  const lines = [`${stats.runs} runs recorded${stats.unreadable ? ` (${stats.unreadable} unreadable, skipped)` : ''}; restores saved ${seconds(stats.savedMs)} in all`, '', 'Hit rate by target:'];
  for (const t of stats.byTarget) lines.push(`  ${t.target.padEnd(24)} ${(t.hitRate * 100).toFixed(0).padStart(3)}%  (${t.restored} of ${t.tasks} restored)`);
  lines.push('', 'Slowest tasks (mean run time when they ran):');
  for (const t of stats.slowest) lines.push(`  ${t.id.padEnd(32)} ${seconds(t.meanMs).padStart(7)}  over ${t.runs} runs`);
  if (stats.mostVariable.length > 0) {
    lines.push('', 'Most variable (flaky or noisy):');
    for (const t of stats.mostVariable) lines.push(`  ${t.id.padEnd(32)} varies ${(t.variation * 100).toFixed(0)}%${t.flakyRuns ? `, passed on a retry ${t.flakyRuns} times` : ''}`);
  }
  lines.push('', 'Wall time, oldest to newest:');
  for (const r of stats.trend.slice(-10)) lines.push(`  ${r.startedAt}  ${seconds(r.wallMs).padStart(7)}  ${r.ran} ran, ${r.restored} restored${r.failed ? `, ${r.failed} failed` : ''}`);
  return `${lines.join('\n')}\n`;
}

const label = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The last run's and the history's figures in the OpenMetrics text format
 * (what Prometheus scrapes and a Pushgateway accepts).
 */
export function formatOpenMetrics(stats: RunStats, last: RunRecord | undefined): string {
  const out: string[] = [];
  const gauge = (name: string, help: string, samples: Array<[Record<string, string>, number]>, unit?: string): void => {
    out.push(`# TYPE ${name} gauge`);
    if (unit) out.push(`# UNIT ${name} ${unit}`);
    out.push(`# HELP ${name} ${help}`);
    for (const [labels, value] of samples) {
      const text = Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`).join(',');
      out.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  if (last) {
    const count = (status: string): number =>
      last.tasks.filter((t) => (status === 'ran' ? t.cache === 'miss' && t.status === 'success' : status === 'local' || status === 'remote' ? t.cache === status && t.status === 'success' : t.status === status)).length;
    gauge('stride_last_run_tasks', 'Tasks of the last run by outcome.', ['ran', 'local', 'remote', 'failure', 'skipped'].map((s) => [{ outcome: s }, count(s)]));
    gauge('stride_last_run_wall_seconds', 'Wall time of the last run.', [[{}, wallMs(last) / 1000]], 'seconds');
    gauge('stride_last_run_saved_seconds', 'Run time the last run saved by restoring.', [[{}, last.tasks.reduce((a, t) => a + (t.savedMs ?? 0), 0) / 1000]], 'seconds');
    gauge('stride_last_run_critical_path_seconds', 'Task time along the last run\'s critical path.', [[{}, last.criticalPath.actual.ms / 1000]], 'seconds');
    gauge('stride_last_run_remote_bytes', 'Bytes moved to and from the remote cache in the last run.', [[{ direction: 'down' }, last.remote?.downloadBytes ?? 0], [{ direction: 'up' }, last.remote?.uploadBytes ?? 0]], 'bytes');
    gauge('stride_last_run_task_duration_seconds', 'Run time of each task the last run ran.', last.tasks.filter((t) => t.cache === 'miss' && t.status === 'success').map((t) => [{ task: t.id }, t.phases.runMs / 1000]), 'seconds');
  }
  gauge('stride_history_runs', 'Run records kept.', [[{}, stats.runs]]);
  gauge('stride_history_hit_ratio', 'Share of tasks restored, by target, over the kept runs.', stats.byTarget.map((t) => [{ target: t.target }, t.hitRate]), 'ratio');
  gauge('stride_history_saved_seconds', 'Run time saved by restores over the kept runs.', [[{}, stats.savedMs / 1000]], 'seconds');
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}
