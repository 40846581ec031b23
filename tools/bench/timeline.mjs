// Turns one measured `nx run-many` into "where the time went": the Nx
// performance entries each process dumped (see perf-dump.cjs) plus, for the
// Stride variant, Stride's run record (.stride/runs/last.json).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every process's dump of one run: [{ pid, ppid, argv, timeOrigin, exitAt, entries }]. */
export function readPerfDumps(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(dir, f), 'utf8'))];
      } catch {
        return []; // a process still writing its dump as the run ended
      }
    });
}

/**
 * The segments of one run, in milliseconds, in the order they happen. Every
 * absolute time is epoch milliseconds: `t0` just before the CLI was spawned,
 * `t1` just after it was reaped.
 * @param {{ t0: number, t1: number, pid: number, dumps: any[], record?: any, dependencies?: Record<string, string[]> }} run
 */
export function breakdown({ t0, t1, pid, dumps, record, dependencies }) {
  const main = dumps.find((d) => d.pid === pid) ?? dumps.find((d) => d.argv.some((a) => a.endsWith('/nx') || a.endsWith('nx.js')));
  if (!main) throw new Error(`no performance dump of the nx process ${pid}`);
  const measures = (name) => main.entries.filter((e) => e.type === 'measure' && e.name === name);
  const measure = (name) => measures(name)[0];
  const mark = (name) => main.entries.find((e) => e.type === 'mark' && e.name === name)?.start;
  const end = (e) => e.start + e.duration;

  const graph = measure('createProjectGraphAsync');
  const preTasks = measure('preTasksExecution');
  const execStart = mark('task-execution:start');
  const execEnd = mark('task-execution:end');
  if (!graph || execStart === undefined || execEnd === undefined) throw new Error('the nx process did not record its project graph or task execution');
  const hashing = measures('hashMultipleTasks');
  const nxHashMs = sum(hashing.map((e) => e.duration));
  const pluginLoads = ['loadDefaultNxPlugins', 'loadSpecifiedNxPlugins'].map(measure).filter(Boolean);
  const strideWorkers = main.entries.filter((e) => e.type === 'measure' && e.name === 'start-plugin-worker:@stride/nx').map((e) => e.duration);

  const s = {};
  s.boot = graph.start - t0; // node + the nx CLI loading, until the graph starts
  s.projectGraph = graph.duration;
  s.preTasksHook = preTasks ? preTasks.duration : 0;
  s.taskGraph = execStart - end(graph) - s.preTasksHook; // task graph, life cycles, hook set-up
  s.nxHashing = nxHashMs;
  const exec = execEnd - execStart;
  const runBatch = measure('TaskOrchestrator-run-batch');
  const detail = {
    pluginLoadMs: Math.max(0, ...pluginLoads.map((e) => e.duration)),
    strideWorkerStartsMs: strideWorkers,
    nxHashCalls: hashing.length,
    taskExecutionMs: exec,
  };
  if (record && runBatch) {
    const start = Date.parse(record.startedAt);
    const endAt = Date.parse(record.endedAt);
    const tasks = record.tasks;
    const firstStart = Math.min(...tasks.map((t) => t.startMs));
    const lastEnd = Math.max(...tasks.map((t) => t.endMs));
    const setup = record.setup ?? {};
    const setupMs = (setup.settingsMs ?? 0) + (setup.listFilesMs ?? 0) + (setup.loadFileHashesMs ?? 0);
    s.batchStart = start - runBatch.start; // fork, load the executor and Stride, receive the graphs
    s.strideSetup = setupMs; // settings, file listing, file-hash cache load
    s.strideSetupOther = firstStart - setupMs; // hasher, remote, runner set-up, and the up-front hashing that early restores start before the first task
    s.strideTasks = lastEnd - firstStart; // hash + lookup + restore of every task, layer by layer
    s.strideFinish = endAt - start - lastEnd; // remote flush, saving the file-hash cache
    s.batchEnd = end(runBatch) - endAt; // run record, summary line, batch process exit
    s.nxBatchHandling = exec - nxHashMs - runBatch.duration; // Nx's batch waves and result handling
    Object.assign(detail, strideTasks(record, dependencies));
  } else {
    s.nxRestore = exec - nxHashMs; // Nx's cache lookups and restores (and scheduling)
  }
  s.wrapUp = main.exitAt - execEnd; // post-run hooks, summary, task history, until 'exit'
  s.processExit = t1 - main.exitAt;
  // The segments are consecutive, so they add up to the wall time exactly.
  const total = t1 - t0;
  for (const key of Object.keys(s)) s[key] = round(s[key]);
  return { totalMs: round(total), segments: s, detail };
}

/**
 * Stride's per-task phases. `phases.hashMs` is the task hash (its input
 * files, options, dependency hashes) plus the store lookup (one small
 * meta.json read); `restoreMs` is checksum, entry check, clearing and unpacking.
 */
export function strideTasks(record, dependencies = {}) {
  const tasks = record.tasks;
  const hashSpans = tasks.map((t) => [t.startMs, t.startMs + t.phases.hashMs]);
  const restoreSpans = tasks.map((t) => [t.startMs + t.phases.hashMs, t.startMs + t.phases.hashMs + t.phases.restoreMs]);
  const hashMs = tasks.map((t) => t.phases.hashMs);
  const restoreMs = tasks.map((t) => t.phases.restoreMs);
  const setup = record.setup ?? {};

  // The critical path: from the task that finished last, back through the
  // dependency that finished last, to a task with no dependency in the run.
  const byId = new Map(tasks.map((t) => [t.id, t]));
  let current = tasks.reduce((a, b) => (b.endMs > a.endMs ? b : a));
  const path = [];
  while (current) {
    path.push(current);
    const project = current.id.split(':')[0];
    const deps = (dependencies[project] ?? []).map((d) => byId.get(`${d}:build`)).filter(Boolean);
    current = deps.length ? deps.reduce((a, b) => (b.endMs > a.endMs ? b : a)) : undefined;
  }
  path.reverse();
  // Time between a dependency finishing and its dependant starting (the first
  // task's wait for Stride's setup is not counted).
  let wait = 0;
  for (let i = 1; i < path.length; i++) wait += path[i].startMs - path[i - 1].endMs;

  return {
    tasks: tasks.length,
    restored: tasks.filter((t) => t.cache === 'local' && t.status === 'success').length,
    listFilesMs: setup.listFilesMs ?? 0,
    loadFileHashesMs: setup.loadFileHashesMs ?? 0,
    saveFileHashesMs: setup.saveFileHashesMs ?? 0,
    // Stride's whole hashing cost in wall-clock terms: listing, loading the
    // file-hash cache, the time some task was hashing, saving the cache.
    hashTotalMs: (setup.listFilesMs ?? 0) + (setup.loadFileHashesMs ?? 0) + unionLength(hashSpans) + (setup.saveFileHashesMs ?? 0),
    hashSumMs: sum(hashMs),
    hashUnionMs: unionLength(hashSpans),
    hashSpreadMs: Math.max(...hashSpans.map((x) => x[1])) - Math.min(...hashSpans.map((x) => x[0])),
    hashMedianMs: median(hashMs),
    hashMaxMs: Math.max(...hashMs),
    restoreSumMs: sum(restoreMs),
    restoreUnionMs: unionLength(restoreSpans),
    restoreMedianMs: median(restoreMs),
    critical: {
      tasks: path.length,
      hashMs: sum(path.map((t) => t.phases.hashMs)),
      restoreMs: sum(path.map((t) => t.phases.restoreMs)),
      waitMs: wait,
      endMs: path.at(-1).endMs,
    },
  };
}

/** Total length covered by a set of [start, end] intervals. */
export function unionLength(spans) {
  const sorted = spans.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [a, b] of sorted) {
    if (a > to) {
      if (to > from) total += to - from;
      [from, to] = [a, b];
    } else if (b > to) to = b;
  }
  if (to > from) total += to - from;
  return total;
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function round(value) {
  return Math.round(value * 10) / 10;
}
