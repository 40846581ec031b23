import { compareReady, criticalPathPriorities, dependantsOf, type TaskDag } from './critical-path.js';

/** Orders ready tasks: negative when `a` should start first. */
export type ReadyOrder = (a: string, b: string) => number;

/** Stride's order: critical-path priority from the estimates, then more dependants, then id. */
export function criticalPathOrder(dag: TaskDag, estimateMs: (id: string) => number): ReadyOrder {
  return compareReady(criticalPathPriorities(dag, estimateMs), dependantsOf(dag));
}

/**
 * Nx 24's order (`TasksSchedule.sortScheduledTasks`): more direct dependant
 * tasks first, then more transitive dependant projects (one task per project
 * here), then the longer past duration, with no history counting as longest.
 */
export function nxReadyOrder(dag: TaskDag, pastDurationMs: (id: string) => number | undefined): ReadyOrder {
  const dependants = dependantsOf(dag);
  const transitive = new Map<string, number>();
  const reach = (id: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(dependants.get(id) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(dependants.get(next) ?? []));
    }
    return seen;
  };
  for (const id of dag.ids) transitive.set(id, reach(id).size);
  return (a, b) => {
    const direct = (dependants.get(b)?.length ?? 0) - (dependants.get(a)?.length ?? 0);
    if (direct !== 0) return direct;
    const projects = (transitive.get(b) ?? 0) - (transitive.get(a) ?? 0);
    if (projects !== 0) return projects;
    const ta = pastDurationMs(a);
    const tb = pastDurationMs(b);
    const hasA = ta !== undefined && ta !== 0;
    const hasB = tb !== undefined && tb !== 0;
    if (!hasA && !hasB) return 0;
    if (!hasA) return -1;
    if (!hasB) return 1;
    return tb - ta;
  };
}

/**
 * Simulates list scheduling: whenever a slot is free, the first ready task in
 * `order` starts and runs for exactly its duration. Returns the makespan. The
 * runner uses the same order functions, so this is what it would do on the
 * graph if estimates were right and tasks had no overhead.
 */
export function simulateMakespan(dag: TaskDag, durationMs: (id: string) => number, parallel: number, order: ReadyOrder): number {
  const dependants = dependantsOf(dag);
  const waiting = new Map(dag.ids.map((id) => [id, (dag.dependencies[id] ?? []).length]));
  const ready = dag.ids.filter((id) => waiting.get(id) === 0);
  const running: Array<{ id: string; end: number }> = [];
  let now = 0;
  let done = 0;
  while (done < dag.ids.length) {
    ready.sort(order);
    while (running.length < parallel && ready.length > 0) {
      const id = ready.shift() as string;
      running.push({ id, end: now + durationMs(id) });
    }
    if (running.length === 0) throw new Error('the task graph has a cycle');
    running.sort((x, y) => x.end - y.end);
    now = (running[0] as { end: number }).end;
    // Everything ending at this instant frees its slot before the next tasks are picked.
    while (running.length > 0 && (running[0] as { end: number }).end === now) {
      const finished = running.shift() as { id: string; end: number };
      done++;
      for (const next of dependants.get(finished.id) ?? []) {
        const left = (waiting.get(next) ?? 1) - 1;
        waiting.set(next, left);
        if (left === 0) ready.push(next);
      }
    }
  }
  return now;
}

/** No schedule can beat this: the longest chain, or all the work spread evenly over the slots. */
export function makespanLowerBound(dag: TaskDag, durationMs: (id: string) => number, parallel: number): number {
  const chain = Math.max(0, ...criticalPathPriorities(dag, durationMs).values());
  const work = dag.ids.reduce((sum, id) => sum + durationMs(id), 0);
  return Math.max(chain, work / parallel);
}
