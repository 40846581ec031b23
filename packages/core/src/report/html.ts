import { ownMs, type RunRecord, type RunRecordTask } from '../run/run-record.js';
import { formatBytes } from '../util/format.js';
import { safeWarning } from '../util/secrets.js';
import { formatDuration, placeTasks, wallMs } from './lanes.js';

const COLOURS: Record<string, string> = { miss: '#4e79a7', local: '#59a14f', remote: '#76b7b2', failure: '#e15759', skipped: '#bab0ac' };
const CRITICAL = '#f28e2b';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const colourOf = (task: RunRecordTask): string => (task.status === 'success' ? (COLOURS[task.cache] as string) : (COLOURS[task.status] as string));
const statusOf = (task: RunRecordTask): string => (task.status === 'success' ? (task.cache === 'miss' ? 'ran' : `restored (${task.cache})`) : task.status);

/**
 * A self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
 * showing a run: the figures, what to speed up, a Gantt chart by worker slot
 * with cache status by colour and the critical path outlined, and the task
 * graph with the same path marked.
 */
export function renderHtmlReport(record: RunRecord): string {
  const critical = new Set(record.criticalPath.actual.ids);
  const byId = new Map(record.tasks.map((t) => [t.id, t]));
  const ran = record.tasks.filter((t) => t.cache === 'miss' && t.status !== 'skipped');
  const saved = record.tasks.reduce((sum, t) => sum + t.savedMs, 0);
  const figures: Array<[string, string]> = [
    ['Wall time', formatDuration(wallMs(record))],
    ['Tasks', String(record.tasks.length)],
    ['Ran', String(ran.filter((t) => t.status === 'success').length)],
    ['Restored (local)', String(record.tasks.filter((t) => t.cache === 'local' && t.status === 'success').length)],
    ['Restored (remote)', String(record.tasks.filter((t) => t.cache === 'remote' && t.status === 'success').length)],
    ['Failed', String(record.tasks.filter((t) => t.status === 'failure').length)],
    ['Skipped', String(record.tasks.filter((t) => t.status === 'skipped').length)],
    ['Time saved by restores', formatDuration(saved)],
    ['Parallel', String(record.parallel)],
  ];
  if (record.remote) {
    figures.push(['Downloaded', `${record.remote.hits} (${formatBytes(record.remote.downloadBytes)})`], ['Uploaded', `${record.remote.uploads} (${formatBytes(record.remote.uploadBytes)})`]);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stride run ${escape(record.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}
.figures td:first-child{color:#666}.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
svg text{font:11px system-ui,sans-serif}.warn{color:#b00}
</style></head><body>
<h1>Stride run of ${escape(record.startedAt)}</h1>
<table class="figures">${figures.map(([k, v]) => `<tr><td>${escape(k)}</td><td>${escape(v)}</td></tr>`).join('')}</table>
${record.warnings.map((w) => `<p class="warn">Warning: ${escape(safeWarning(w))}</p>`).join('\n')}
${missCausesSection(record)}<h2>Critical path: ${formatDuration(record.criticalPath.actual.ms)} of task time</h2>
${criticalPathTable(record, byId)}
<h2>Timeline</h2>
<p class="legend">${Object.entries({ ran: COLOURS.miss, 'restored locally': COLOURS.local, 'restored from the remote': COLOURS.remote, failed: COLOURS.failure, skipped: COLOURS.skipped, 'critical path (outline)': CRITICAL })
    .map(([label, colour]) => `<span><i style="background:${colour}"></i>${escape(label)}</span>`)
    .join('')}</p>
${gantt(record, critical)}
<h2>Task graph</h2>
${graph(record, critical)}
<h2>All tasks</h2>
<table><tr><th>task</th><th>status</th><th>start</th><th>duration</th><th>estimate</th><th>hash</th></tr>
${[...record.tasks]
    .sort((a, b) => a.startMs - b.startMs)
    .map((t) => `<tr><td>${escape(t.id)}</td><td>${escape(statusOf(t))}${t.flaky ? ' (flaky)' : ''}</td><td>${formatDuration(t.startMs)}</td><td>${formatDuration(t.endMs - t.startMs)}</td><td>${formatDuration(t.estimateMs)}</td><td><code>${escape(t.hash ?? '')}</code></td></tr>`)
    .join('\n')}</table>
</body></html>
`;
}

/** Why tasks missed, from the run's hash records: the inputs that changed, by how many missed tasks they changed for. */
function missCausesSection(record: RunRecord): string {
  const causes = record.missCauses;
  if (!causes || causes.misses === 0) return '';
  const rows = causes.causes.map((c) => `<tr class="miss-cause"><td>${escape(c.subject)}</td><td>${c.tasks}</td></tr>`);
  if (causes.firstBuilds > 0) rows.push(`<tr class="miss-cause"><td>never built here before</td><td>${causes.firstBuilds}</td></tr>`);
  return `<h2>Why ${causes.misses} ${causes.misses === 1 ? 'task' : 'tasks'} missed</h2>\n<table><tr><th>changed input</th><th>misses</th></tr>${rows.join('')}</table>\n<p>For one task: <code>npx stride why &lt;project:target&gt;</code>.</p>\n`;
}

/**
 * The critical path step by step, and what would shorten the run: the longest
 * step of the path that ran, when the path bounds the run; more slots (or
 * fewer misses) when the slots did, that is when the work that ran, spread
 * over every slot, takes longer than the path.
 */
function criticalPathTable(record: RunRecord, byId: Map<string, RunRecordTask>): string {
  const steps = record.criticalPath.actual.ids.map((id) => byId.get(id)).filter((t): t is RunRecordTask => t !== undefined);
  if (steps.length === 0) return '<p>No task ran.</p>';
  const rows = steps.map((t) => `<tr class="critical-step"><td>${escape(t.id)}</td><td>${escape(statusOf(t))}</td><td>${formatDuration(ownMs(t.phases))}</td></tr>`).join('\n');
  return `<table><tr><th>step</th><th>status</th><th>duration</th></tr>${rows}</table><p>${speedUpAdvice(record, steps)}</p>`;
}

function speedUpAdvice(record: RunRecord, steps: RunRecordTask[]): string {
  const work = record.tasks.reduce((sum, t) => sum + (t.status === 'skipped' ? 0 : ownMs(t.phases)), 0);
  const perSlot = work / Math.max(1, record.parallel);
  const path = record.criticalPath.actual.ms;
  if (perSlot > path) {
    return `This run was bound by its ${record.parallel} worker slot${record.parallel === 1 ? '' : 's'}, not by a chain: ${formatDuration(work)} of work over ${record.parallel} slot${record.parallel === 1 ? '' : 's'} takes at least ${formatDuration(perSlot)}, longer than the critical path (${formatDuration(path)}). Raise <code>--parallel</code>, or have fewer tasks miss the cache.`;
  }
  const ran = steps.filter((t) => t.cache === 'miss').sort((a, b) => ownMs(b.phases) - ownMs(a.phases))[0];
  if (!ran) return 'Every step of the critical path was restored; the run is bounded by restores and setup, not by running tasks.';
  return `To shorten this run, speed up <b>${escape(ran.id)}</b>: it is the longest step of the critical path that ran (${formatDuration(ownMs(ran.phases))}); making it faster shortens the run by as much, until another chain becomes the longest. Splitting it, or caching it more often (fewer inputs), helps most.`;
}

function gantt(record: RunRecord, critical: Set<string>): string {
  const { rows, placed } = placeTasks(record);
  const total = Math.max(1, wallMs(record), ...placed.map((p) => p.endMs));
  const left = 90;
  const width = 900;
  const rowHeight = 24;
  const x = (ms: number): number => left + (ms / total) * width;
  const height = rows.length * rowHeight + 30;
  const ticks = Array.from({ length: 6 }, (_, i) => (total * i) / 5);
  const parts = [
    ...rows.map((row, i) => `<text x="4" y="${i * rowHeight + 16}">${escape(row)}</text>`),
    ...ticks.map((ms) => `<line x1="${x(ms)}" x2="${x(ms)}" y1="0" y2="${rows.length * rowHeight}" stroke="#eee"/><text x="${x(ms)}" y="${rows.length * rowHeight + 16}" text-anchor="middle">${formatDuration(ms)}</text>`),
    ...placed.map(({ task, rowIndex, startMs, endMs }) => {
      const w = Math.max(2, x(endMs) - x(startMs));
      const onPath = critical.has(task.id);
      const label = w > 60 ? `<text x="${x(startMs) + 3}" y="${rowIndex * rowHeight + 15}" fill="#fff" pointer-events="none">${escape(task.id.slice(0, Math.floor(w / 6.5)))}</text>` : '';
      return `<g class="task${onPath ? ' critical' : ''}" data-task="${escape(task.id)}" data-status="${escape(statusOf(task))}"><rect x="${x(startMs)}" y="${rowIndex * rowHeight + 3}" width="${w}" height="${rowHeight - 6}" fill="${colourOf(task)}"${onPath ? ` stroke="${CRITICAL}" stroke-width="3"` : ''}><title>${escape(`${task.id}: ${statusOf(task)}, ${formatDuration(endMs - startMs)}`)}</title></rect>${label}</g>`;
    }),
  ];
  return `<svg class="gantt" width="${left + width + 20}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** The task graph in layers (a task one layer right of its deepest dependency), critical path marked. */
function graph(record: RunRecord, critical: Set<string>): string {
  const depth = new Map<string, number>();
  const byId = new Map(record.tasks.map((t) => [t.id, t]));
  const layerOf = (id: string, seen = new Set<string>()): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const deps = byId.get(id)?.dependencies ?? [];
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => layerOf(d, seen)));
    depth.set(id, value);
    return value;
  };
  const layers: string[][] = [];
  for (const task of record.tasks) (layers[layerOf(task.id)] ??= []).push(task.id);
  const boxW = 150;
  const boxH = 22;
  const gapX = 50;
  const gapY = 8;
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((ids, l) => [...ids].sort().forEach((id, i) => pos.set(id, { x: 10 + l * (boxW + gapX), y: 10 + i * (boxH + gapY) })));
  const width = 20 + layers.length * (boxW + gapX);
  const height = 20 + Math.max(1, ...layers.map((ids) => ids.length)) * (boxH + gapY);
  const edges: string[] = [];
  for (const task of record.tasks) {
    const to = pos.get(task.id);
    for (const dep of task.dependencies) {
      const from = pos.get(dep);
      if (!from || !to) continue;
      const onPath = critical.has(dep) && critical.has(task.id);
      edges.push(`<line x1="${from.x + boxW}" y1="${from.y + boxH / 2}" x2="${to.x}" y2="${to.y + boxH / 2}" stroke="${onPath ? CRITICAL : '#aaa'}" stroke-width="${onPath ? 3 : 1}"/>`);
    }
  }
  const nodes = record.tasks.map((task) => {
    const p = pos.get(task.id) as { x: number; y: number };
    const onPath = critical.has(task.id);
    return `<g class="node${onPath ? ' critical' : ''}" data-node="${escape(task.id)}"><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="4" fill="${colourOf(task)}"${onPath ? ` stroke="${CRITICAL}" stroke-width="3"` : ''}><title>${escape(`${task.id}: ${statusOf(task)}`)}</title></rect><text x="${p.x + 5}" y="${p.y + 15}" fill="#fff">${escape(task.id.slice(0, 22))}</text></g>`;
  });
  return `<svg class="graph" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${edges.join('')}${nodes.join('')}</svg>`;
}
