import { ownMs, type RunRecord, type RunRecordTask } from '../run/run-record.js';
import { formatBytes } from '../util/format.js';
import { safeWarning } from '../util/secrets.js';
import { formatDuration, wallMs } from './lanes.js';

/** Steps of the critical path shown in full; longer paths show their head and tail. */
const MAX_PATH_STEPS = 6;

/**
 * The end-of-run summary, at most about a dozen lines, no colour: what ran and
 * what was restored, the time restores saved, the chain that decided the run's
 * length, the longest tasks, remote traffic, and every warning.
 */
export function formatSummary(record: RunRecord): string {
  const tasks = record.tasks;
  const count = (predicate: (t: RunRecordTask) => boolean): number => tasks.filter(predicate).length;
  const local = count((t) => t.cache === 'local' && t.status === 'success');
  const remote = count((t) => t.cache === 'remote' && t.status === 'success');
  const ran = count((t) => t.cache === 'miss' && t.status === 'success');
  const failed = count((t) => t.status === 'failure');
  const skipped = count((t) => t.status === 'skipped');
  const saved = tasks.reduce((sum, t) => sum + t.savedMs, 0);
  const restored = record.remote ? `${local + remote} restored (${local} local, ${remote} remote)` : `${local} restored`;
  const lines = [`Stride: ${tasks.length} tasks in ${formatDuration(wallMs(record))}: ${ran} ran, ${restored}, ${failed} failed, ${skipped} skipped; restores saved ${formatDuration(saved)}`];

  const byId = new Map(tasks.map((t) => [t.id, t]));
  const path = record.criticalPath.actual;
  if (path.ids.length > 0) {
    const steps = path.ids.map((id) => {
      const task = byId.get(id);
      const how = task && task.cache !== 'miss' ? ` ${task.cache}` : '';
      return `${id} ${formatDuration(task ? ownMs(task.phases) : 0)}${how}`;
    });
    const shown = steps.length <= MAX_PATH_STEPS ? steps : [...steps.slice(0, 2), `(${steps.length - 5} more)`, ...steps.slice(-3)];
    lines.push(`Critical path ${formatDuration(path.ms)}: ${shown.join(' > ')}`);
  }
  const longest = tasks
    .filter((t) => t.cache === 'miss' && t.status !== 'skipped')
    .sort((a, b) => b.phases.runMs - a.phases.runMs)
    .slice(0, 3);
  if (longest.length > 0) lines.push(`Longest tasks: ${longest.map((t) => `${t.id} ${formatDuration(t.phases.runMs)}`).join(', ')}`);
  const flaky = tasks.filter((t) => t.flaky);
  if (flaky.length > 0) lines.push(`Flaky (passed on a retry): ${flaky.map((t) => `${t.id} (attempt ${t.attempts})`).join(', ')}`);
  if (record.remote) {
    const r = record.remote;
    lines.push(`Remote: ${r.hits} downloaded (${formatBytes(r.downloadBytes)}), ${r.uploads} uploaded (${formatBytes(r.uploadBytes)}), ${r.alreadyStored} already there, ${r.refused} refused`);
  }
  // The last step before the terminal: whatever built the warning, it prints as one line with no secret.
  for (const warning of record.warnings) lines.push(`Stride warning: ${safeWarning(warning)}`);
  return `${lines.join('\n')}\n`;
}
