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
