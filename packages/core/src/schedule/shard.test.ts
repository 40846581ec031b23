import { describe, expect, it } from 'vitest';
import type { TaskDag } from './critical-path.js';
import { seededRandom } from './random-dag.js';
import { planShards, shardSpread } from './shard.js';
import { criticalPathOrder, makespanLowerBound, simulateMakespan } from './simulate.js';

/**
 * The benchmark workspace's shape (tools/workspace-gen.mjs, 200 projects in
 * layers of 10, each building on two of the layer below) with build and test
 * targets: test waits for its own build, build for its dependencies' builds.
 * `skew` 0 gives recorded-looking timings (log-normal around 1 s and 2 s);
 * higher values a heavy tail of tasks up to 100x the median.
 */
function benchmarkWorkspace(seed: number, options: { projects?: number; width?: number; heavyTail?: boolean } = {}): { dag: TaskDag; durationMs: Record<string, number> } {
  const { projects = 200, width = 10, heavyTail = false } = options;
  const random = seededRandom(seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const draw = (median: number): number =>
    Math.round(heavyTail ? Math.min(100, (1 - random()) ** -0.7) * median * 0.6 : median * Math.exp(0.5 * gaussian()));
  const names = Array.from({ length: projects }, (_, i) => `lib${String(i).padStart(3, '0')}`);
  const dependencies: Record<string, string[]> = {};
  const durationMs: Record<string, number> = {};
  names.forEach((name, i) => {
    const layer = Math.floor(i / width);
    const below = names.slice((layer - 1) * width, layer * width);
    const deps = layer === 0 ? [] : [...new Set([below[i % width], below[(i + 1) % width]])].filter((d): d is string => d !== undefined);
    dependencies[`${name}:build`] = deps.map((d) => `${d}:build`);
    dependencies[`${name}:test`] = [`${name}:build`];
    durationMs[`${name}:build`] = draw(1000);
    durationMs[`${name}:test`] = draw(2000);
  });
  return { dag: { ids: Object.keys(dependencies), dependencies }, durationMs };
}

const unitOf = (id: string): string => id.slice(0, id.lastIndexOf(':'));

describe('planShards', () => {
  it('predicts shard times within 10% of each other on the 200-project benchmark workspace', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { dag, durationMs } = benchmarkWorkspace(seed);
      const estimate = (id: string): number => durationMs[id] ?? 0;
      const one = simulateMakespan(dag, estimate, 3, criticalPathOrder(dag, estimate));
      for (const total of [2, 3, 4]) {
        const plan = planShards({ dag, unitOf, estimateMs: estimate, total, parallel: 3 });
        const ends = plan.shards.map((s) => s.predictedMs);
        console.log(`[shard] seed ${seed}, ${total} shards: spread ${(shardSpread(plan) * 100).toFixed(1)}%, slowest ${Math.max(...ends)} ms, one machine ${one} ms`);
        expect(shardSpread(plan), `seed ${seed}, ${total} shards: ${ends.join(', ')}`).toBeLessThanOrEqual(0.1);
        expect(Math.max(...ends)).toBeLessThan(one);
      }
    }
  });

  it('stays within 10% of the best possible finish when a heavy tail makes one chain the whole story', () => {
    for (const seed of [1, 2, 3]) {
      const { dag, durationMs } = benchmarkWorkspace(seed, { heavyTail: true });
      const estimate = (id: string): number => durationMs[id] ?? 0;
      const plan = planShards({ dag, unitOf, estimateMs: estimate, total: 4, parallel: 3 });
      const slowest = Math.max(...plan.shards.map((s) => s.predictedMs));
      const bound = makespanLowerBound(dag, estimate, 12);
      // Here the machines cannot finish together: one chain outlasts everything else.
      console.log(`[shard] heavy tail, seed ${seed}: slowest ${slowest} ms, bound ${Math.round(bound)} ms, spread ${(shardSpread(plan) * 100).toFixed(1)}%`);
      expect(slowest / bound).toBeLessThanOrEqual(1.1);
    }
  });

  it('gives every task to exactly one shard, a project whole, and is deterministic', () => {
    const { dag, durationMs } = benchmarkWorkspace(7);
    const request = { dag, unitOf, estimateMs: (id: string) => durationMs[id] ?? 0, total: 4, parallel: 3 };
    const plan = planShards(request);
    const all = plan.shards.flatMap((s) => s.tasks).sort();
    expect(all).toEqual([...dag.ids].sort());
    for (const shard of plan.shards) {
      for (const id of shard.tasks) expect(plan.owner[id]).toBe(shard.index);
      expect(shard.units).toEqual([...new Set(shard.tasks.map(unitOf))].sort());
    }
    const projects = plan.shards.flatMap((s) => s.units);
    expect(new Set(projects).size).toBe(projects.length);
    // Built from scratch again, with the tasks listed in another order: the same split.
    const again = planShards({ ...request, dag: { ids: [...dag.ids].reverse(), dependencies: dag.dependencies } });
    expect(again.shards.map((s) => s.tasks)).toEqual(plan.shards.map((s) => s.tasks));
  });

  it('predicts one shard exactly as one machine, and a task never finishes before its dependencies', () => {
    const { dag, durationMs } = benchmarkWorkspace(9, { projects: 60, width: 6 });
    const estimate = (id: string): number => durationMs[id] ?? 0;
    const single = planShards({ dag, unitOf, estimateMs: estimate, total: 1, parallel: 3 });
    expect(single.shards[0]?.predictedMs).toBe(simulateMakespan(dag, estimate, 3, criticalPathOrder(dag, estimate)));
    const plan = planShards({ dag, unitOf, estimateMs: estimate, total: 3, parallel: 2 });
    for (const id of dag.ids) {
      for (const dep of dag.dependencies[id] ?? []) expect(plan.finishMs[id]).toBeGreaterThanOrEqual((plan.finishMs[dep] ?? 0) + estimate(id));
    }
  });

  it('leaves a shard empty when there are fewer projects than shards, and refuses a bad total', () => {
    const dag = { ids: ['a:build', 'b:build'], dependencies: { 'a:build': [], 'b:build': ['a:build'] } };
    const plan = planShards({ dag, unitOf, estimateMs: () => 1000, total: 3, parallel: 3 });
    expect(plan.shards.map((s) => s.tasks.length).sort()).toEqual([0, 1, 1]);
    expect(() => planShards({ dag, unitOf, estimateMs: () => 1, total: 0, parallel: 1 })).toThrow(/at least 1/);
  });
});
