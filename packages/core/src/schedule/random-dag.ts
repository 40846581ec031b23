import type { TaskDag } from './critical-path.js';

/** A graph with the duration of each task, for simulations and benchmarks. */
export interface TimedDag {
  dag: TaskDag;
  durationMs: Record<string, number>;
}

/** A small seeded generator (mulberry32): the same seed gives the same graphs everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random layered DAG: 2-12 layers of 1-20 tasks, each task depending on up
 * to 3 tasks of earlier layers (mostly the one just before), durations drawn
 * from a heavy-tailed distribution whose skew varies per graph (from nearly
 * equal tasks to a few tasks 100x the rest), as in real monorepos.
 */
export function randomDag(random: () => number): TimedDag {
  const layers = 2 + Math.floor(random() * 11);
  const maxWidth = 1 + Math.floor(random() * 20);
  const skew = random() * 3;
  const byLayer: string[][] = [];
  const dependencies: Record<string, string[]> = {};
  const durationMs: Record<string, number> = {};
  for (let layer = 0; layer < layers; layer++) {
    const width = 1 + Math.floor(random() * maxWidth);
    const ids: string[] = [];
    for (let i = 0; i < width; i++) {
      const id = `t${layer}-${i}`;
      ids.push(id);
      const deps = new Set<string>();
      if (layer > 0) {
        const count = Math.floor(random() * 4);
        for (let d = 0; d < count; d++) {
          const from = random() < 0.7 ? layer - 1 : Math.floor(random() * layer);
          const candidates = byLayer[from] as string[];
          deps.add(candidates[Math.floor(random() * candidates.length)] as string);
        }
      }
      dependencies[id] = [...deps];
      // Pareto-like: 100 ms to ~100 s at the highest skew.
      durationMs[id] = Math.round(100 * Math.min(1000, (1 - random()) ** -skew));
    }
    byLayer.push(ids);
  }
  return { dag: { ids: byLayer.flat(), dependencies }, durationMs };
}

/**
 * The graph on which Nx's order loses: `fans` libraries of 1 s, each with 2
 * dependants of 0.5 s, beside a chain of `chain` tasks of 2 s.
 */
export function skewedDag(fans = 6, chain = 6): TimedDag {
  const dependencies: Record<string, string[]> = {};
  const durationMs: Record<string, number> = {};
  for (let i = 1; i <= chain; i++) {
    dependencies[`chain${i}`] = i === 1 ? [] : [`chain${i - 1}`];
    durationMs[`chain${i}`] = 2000;
  }
  for (let i = 1; i <= fans; i++) {
    dependencies[`fan${i}`] = [];
    durationMs[`fan${i}`] = 1000;
    for (const leaf of ['a', 'b']) {
      dependencies[`leaf${i}${leaf}`] = [`fan${i}`];
      durationMs[`leaf${i}${leaf}`] = 500;
    }
  }
  return { dag: { ids: Object.keys(dependencies), dependencies }, durationMs };
}

/** A chain of `length` tasks of 1 s. */
export function chainDag(length = 8): TimedDag {
  const ids = Array.from({ length }, (_, i) => `c${i}`);
  return { dag: { ids, dependencies: Object.fromEntries(ids.map((id, i) => [id, i === 0 ? [] : [`c${i - 1}`]])) }, durationMs: Object.fromEntries(ids.map((id) => [id, 1000])) };
}

/** One root, `width` independent tasks of unequal length behind it, one task joining them. */
export function fanDag(width = 12): TimedDag {
  const leaves = Array.from({ length: width }, (_, i) => `leaf${i}`);
  const dependencies: Record<string, string[]> = { root: [], ...Object.fromEntries(leaves.map((id) => [id, ['root']])), join: leaves };
  const durationMs: Record<string, number> = { root: 1000, join: 1000, ...Object.fromEntries(leaves.map((id, i) => [id, 500 + (i % 4) * 500])) };
  return { dag: { ids: Object.keys(dependencies), dependencies }, durationMs };
}

/** Stacked diamonds: each level splits into a short and a long branch that join again. */
export function diamondDag(levels = 4): TimedDag {
  const dependencies: Record<string, string[]> = { top0: [] };
  const durationMs: Record<string, number> = { top0: 500 };
  for (let l = 0; l < levels; l++) {
    dependencies[`short${l}`] = [`top${l}`];
    dependencies[`long${l}`] = [`top${l}`];
    dependencies[`top${l + 1}`] = [`short${l}`, `long${l}`];
    durationMs[`short${l}`] = 500;
    durationMs[`long${l}`] = 1500;
    durationMs[`top${l + 1}`] = 500;
  }
  return { dag: { ids: Object.keys(dependencies), dependencies }, durationMs };
}
