import { MinHeap } from '../util/min-heap.js';
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
  return Math.max(0, ...simulateMachines(dag, durationMs, () => 0, 1, parallel, order).values());
}

/**
 * The same list scheduling over `machines` machines of `parallel` slots each:
 * every task runs on `machineOf(id)` only, once its dependencies have finished
 * on any machine (their outputs arrive through the shared cache; transfer time
 * is not modelled). Returns each task's finish time.
 */
export function simulateMachines(
  dag: TaskDag,
  durationMs: (id: string) => number,
  machineOf: (id: string) => number,
  machines: number,
  parallel: number,
  order: ReadyOrder,
): Map<string, number> {
  // Tasks become numbers ranked once by `order` (ties keep the graph's order), so each queue is a heap.
  const ids = [...dag.ids].sort(order);
  const index = new Map(ids.map((id, i) => [id, i]));
  const dependants = ids.map(() => [] as number[]);
  const waiting = ids.map((id) => (dag.dependencies[id] ?? []).length);
  ids.forEach((id, i) => {
    for (const dep of dag.dependencies[id] ?? []) dependants[index.get(dep) as number]?.push(i);
  });
  const machine = ids.map((id) => machineOf(id));
  const duration = ids.map((id) => durationMs(id));
  const end = new Float64Array(ids.length);
  const ready = Array.from({ length: machines }, () => new MinHeap((a, b) => a < b));
  const running = new MinHeap((a, b) => (end[a] as number) < (end[b] as number) || ((end[a] as number) === (end[b] as number) && a < b));
  const busy: number[] = Array.from({ length: machines }, () => 0);
  waiting.forEach((left, i) => {
    if (left === 0) ready[machine[i] as number]?.push(i);
  });
  const finish = new Map<string, number>();
  let now = 0;
  while (finish.size < ids.length) {
    for (let m = 0; m < machines; m++) {
      const queue = ready[m] as MinHeap;
      while ((busy[m] as number) < parallel && queue.size > 0) {
        const task = queue.pop() as number;
        busy[m] = (busy[m] as number) + 1;
        end[task] = now + (duration[task] as number);
        running.push(task);
      }
    }
    if (running.size === 0) throw new Error('the task graph has a cycle, or a task is on no machine');
    now = end[running.peek() as number] as number;
    // Everything ending at this instant frees its slot before the next tasks are picked.
    while (running.size > 0 && end[running.peek() as number] === now) {
      const task = running.pop() as number;
      busy[machine[task] as number] = (busy[machine[task] as number] as number) - 1;
      finish.set(ids[task] as string, now);
      for (const next of dependants[task] as number[]) {
        waiting[next] = (waiting[next] as number) - 1;
        if (waiting[next] === 0) ready[machine[next] as number]?.push(next);
      }
    }
  }
  return finish;
}

/** No schedule can beat this: the longest chain, or all the work spread evenly over the slots. */
export function makespanLowerBound(dag: TaskDag, durationMs: (id: string) => number, parallel: number): number {
  const chain = Math.max(0, ...criticalPathPriorities(dag, durationMs).values());
  const work = dag.ids.reduce((sum, id) => sum + durationMs(id), 0);
  return Math.max(chain, work / parallel);
}
