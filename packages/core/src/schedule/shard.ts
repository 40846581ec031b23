import { criticalPathPriorities, type TaskDag } from './critical-path.js';
import { criticalPathOrder, simulateMachines } from './simulate.js';

/** What to split across machines. */
export interface ShardRequest {
  /** Every task the run would execute, with its dependencies. */
  dag: TaskDag;
  /** The unit a machine is handed: a project, since `nx run-many --projects` runs all its requested targets. */
  unitOf: (id: string) => string;
  estimateMs: (id: string) => number;
  /** Number of machines. */
  total: number;
  /** Worker slots per machine (`--parallel`). */
  parallel: number;
}

export interface Shard {
  index: number;
  /** Task ids this machine owns (runs, unless the cache has them). */
  tasks: string[];
  /** Their units (projects), sorted. */
  units: string[];
  /** When its last task should finish, counted from a common start, waits for other machines included. */
  predictedMs: number;
  /** The sum of its tasks' estimates. */
  workMs: number;
}

export interface ShardPlan {
  total: number;
  parallel: number;
  shards: Shard[];
  /** The machine each task belongs to. */
  owner: Record<string, number>;
  /** When each task should finish on its owner, from a common start. */
  finishMs: Record<string, number>;
}

/** Simulations the local search may spend (each is one list-scheduling pass over the whole graph). */
const MAX_SIMULATIONS = 2000;

/**
 * Splits a task graph over `total` machines, deterministically (same input,
 * same plan, on every machine). Units are handed out longest-processing-time
 * first in critical-path order, each to the machine with the least work so
 * far; then, while it helps, a unit moves onto the machine predicted to finish
 * first (the slowest machine's units tried first). Predictions simulate all machines together: a task waits for its
 * dependencies wherever they run, because a machine relies on the shared
 * cache for another machine's tasks (Stride waits for them there) instead of
 * building them twice.
 */
export function planShards(request: ShardRequest): ShardPlan {
  const { dag, unitOf, estimateMs, total, parallel } = request;
  if (!Number.isInteger(total) || total < 1) throw new Error(`the number of shards must be a whole number of at least 1, got ${total}`);
  const priority = criticalPathPriorities(dag, estimateMs);
  const units = new Map<string, { tasks: string[]; work: number; priority: number }>();
  for (const id of dag.ids) {
    const name = unitOf(id);
    const unit = units.get(name) ?? { tasks: [], work: 0, priority: 0 };
    unit.tasks.push(id);
    unit.work += estimateMs(id);
    unit.priority = Math.max(unit.priority, priority.get(id) ?? 0);
    units.set(name, unit);
  }
  const ordered = [...units.entries()].sort(
    ([a, x], [b, y]) => y.priority - x.priority || y.work - x.work || (a < b ? -1 : a > b ? 1 : 0),
  );

  const unitShard = new Map<string, number>();
  const work = Array.from({ length: total }, () => 0);
  for (const [name, unit] of ordered) {
    let best = 0;
    for (let i = 1; i < total; i++) if ((work[i] as number) < (work[best] as number)) best = i;
    unitShard.set(name, best);
    work[best] = (work[best] as number) + unit.work;
  }

  const order = criticalPathOrder(dag, estimateMs);
  const evaluate = (): { finish: Map<string, number>; ends: number[] } => {
    const finish = simulateMachines(dag, estimateMs, (id) => unitShard.get(unitOf(id)) as number, total, parallel, order);
    const ends = Array.from({ length: total }, () => 0);
    for (const [id, at] of finish) {
      const shard = unitShard.get(unitOf(id)) as number;
      ends[shard] = Math.max(ends[shard] as number, at);
    }
    return { finish, ends };
  };
  const score = (ends: number[]): [number, number] => [Math.max(...ends), Math.max(...ends) - Math.min(...ends)];
  const better = (a: [number, number], b: [number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

  // Local search, first improvement: move one unit onto the machine that finishes first, trying the
  // slowest machine's units before the rest. Bounded by a number of simulations, so it stays deterministic.
  let current = evaluate();
  let budget = MAX_SIMULATIONS;
  for (let improved = true; improved && total > 1 && budget > 0; ) {
    improved = false;
    const ends = current.ends;
    const slowest = ends.indexOf(Math.max(...ends));
    const fastest = ends.indexOf(Math.min(...ends));
    // Units that finish late are the ones that can lift the fastest machine's finish towards the rest.
    const lastFinish = new Map<string, number>();
    for (const [id, at] of current.finish) lastFinish.set(unitOf(id), Math.max(lastFinish.get(unitOf(id)) ?? 0, at));
    const candidates = ordered
      .map(([name]) => name)
      .filter((name) => unitShard.get(name) !== fastest)
      .sort(
        (a, b) =>
          Number(unitShard.get(b) === slowest) - Number(unitShard.get(a) === slowest) ||
          (lastFinish.get(b) ?? 0) - (lastFinish.get(a) ?? 0),
      );
    for (const name of candidates) {
      if (budget-- <= 0) break;
      const from = unitShard.get(name) as number;
      unitShard.set(name, fastest);
      const result = evaluate();
      if (better(score(result.ends), score(current.ends))) {
        current = result;
        improved = true;
        break;
      }
      unitShard.set(name, from);
    }
  }

  const shards: Shard[] = Array.from({ length: total }, (_, index) => ({ index, tasks: [], units: [], predictedMs: current.ends[index] as number, workMs: 0 }));
  const owner: Record<string, number> = {};
  const finishMs: Record<string, number> = {};
  for (const id of [...dag.ids].sort()) {
    const index = unitShard.get(unitOf(id)) as number;
    const shard = shards[index] as Shard;
    shard.tasks.push(id);
    shard.workMs += estimateMs(id);
    owner[id] = index;
    finishMs[id] = current.finish.get(id) as number;
  }
  for (const shard of shards) shard.units = [...new Set(shard.tasks.map(unitOf))].sort();
  return { total, parallel, shards, owner, finishMs };
}

/** How far apart the machines' predicted finish times are: (slowest - fastest) / slowest, 0 when all are empty. */
export function shardSpread(plan: ShardPlan): number {
  const ends = plan.shards.map((s) => s.predictedMs);
  const slowest = Math.max(...ends);
  return slowest === 0 ? 0 : (slowest - Math.min(...ends)) / slowest;
}
