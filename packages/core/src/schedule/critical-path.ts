/** A task graph as the scheduler sees it: ids and, per id, the ids it waits for. */
export interface TaskDag {
  ids: readonly string[];
  dependencies: Readonly<Record<string, readonly string[]>>;
}

/** For each task, the tasks that wait for it (only edges inside the graph). */
export function dependantsOf(dag: TaskDag): Map<string, string[]> {
  const dependants = new Map<string, string[]>(dag.ids.map((id) => [id, []]));
  for (const id of dag.ids) {
    for (const dep of dag.dependencies[id] ?? []) dependants.get(dep)?.push(id);
  }
  return dependants;
}

/**
 * Critical-path priority of every task: its own estimated duration plus the
 * longest estimated chain of dependants behind it. Starting the task with the
 * highest priority first is the classic HLFET list-scheduling rule.
 */
export function criticalPathPriorities(dag: TaskDag, estimateMs: (id: string) => number): Map<string, number> {
  const dependants = dependantsOf(dag);
  const priority = new Map<string, number>();
  const visit = (id: string, onPath: Set<string>): number => {
    const known = priority.get(id);
    if (known !== undefined) return known;
    if (onPath.has(id)) throw new Error(`the task graph has a cycle through ${id}`);
    onPath.add(id);
    let longestBehind = 0;
    for (const next of dependants.get(id) ?? []) longestBehind = Math.max(longestBehind, visit(next, onPath));
    onPath.delete(id);
    const value = estimateMs(id) + longestBehind;
    priority.set(id, value);
    return value;
  };
  for (const id of dag.ids) visit(id, new Set());
  return priority;
}

/**
 * Orders ready tasks: higher priority first, then more dependants, then by id
 * so that equal graphs always run in the same order.
 */
export function compareReady(
  priority: ReadonlyMap<string, number>,
  dependants: ReadonlyMap<string, readonly string[]>,
): (a: string, b: string) => number {
  return (a, b) =>
    (priority.get(b) ?? 0) - (priority.get(a) ?? 0) ||
    (dependants.get(b)?.length ?? 0) - (dependants.get(a)?.length ?? 0) ||
    (a < b ? -1 : a > b ? 1 : 0);
}

/** A chain of tasks through the graph, and how long it takes end to end. */
export interface CriticalPath {
  ids: string[];
  ms: number;
}

/**
 * The longest estimated chain: from the task with the highest priority, each
 * step to the dependant with the highest priority. Its length is the least
 * time the run can take, whatever the parallelism.
 */
export function predictedCriticalPath(dag: TaskDag, estimateMs: (id: string) => number): CriticalPath {
  if (dag.ids.length === 0) return { ids: [], ms: 0 };
  const priority = criticalPathPriorities(dag, estimateMs);
  const dependants = dependantsOf(dag);
  const byPriority = (a: string, b: string): string => ((priority.get(b) ?? 0) > (priority.get(a) ?? 0) ? b : a);
  const ids = [dag.ids.reduce(byPriority)];
  for (;;) {
    const next = dependants.get(ids[ids.length - 1] as string) ?? [];
    if (next.length === 0) break;
    ids.push(next.reduce(byPriority));
  }
  return { ids, ms: priority.get(ids[0] as string) ?? 0 };
}

/**
 * The chain that bounds the run: the longest chain of dependencies by each
 * task's real duration (from its start to its end, less any time it waited for
 * a worker slot or another machine). No order and no number of slots could
 * have finished the run sooner than this chain, so its longest step that ran is
 * what to speed up. Walking back from the last task to finish instead names
 * whatever happened to end last: a 2 s lint that waited for a slot behind a
 * 94 s test. Skipped tasks have no duration and are not part of it.
 */
export function observedCriticalPath(dag: TaskDag, durationsMs: ReadonlyMap<string, number>): CriticalPath {
  const ids = dag.ids.filter((id) => durationsMs.has(id));
  const finished = new Set(ids);
  const dependencies = Object.fromEntries(ids.map((id) => [id, (dag.dependencies[id] ?? []).filter((dep) => finished.has(dep))]));
  return predictedCriticalPath({ ids, dependencies }, (id) => Math.max(0, durationsMs.get(id) ?? 0));
}
