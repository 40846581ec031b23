import { describe, expect, it } from 'vitest';
import { compareReady, criticalPathPriorities, dependantsOf, observedCriticalPath, predictedCriticalPath } from './critical-path.js';

describe('criticalPathPriorities', () => {
  it('is own estimate plus the longest chain of dependants', () => {
    const dag = { ids: ['a', 'b', 'c', 'd'], dependencies: { b: ['a'], c: ['a'], d: ['b'] } };
    const estimates: Record<string, number> = { a: 1, b: 5, c: 2, d: 3 };
    const priority = criticalPathPriorities(dag, (id) => estimates[id] ?? 0);
    expect(Object.fromEntries(priority)).toEqual({ a: 9, b: 8, c: 2, d: 3 });
  });

  it('orders ties by dependants, then by id', () => {
    const dag = { ids: ['x', 'y', 'z', 'w'], dependencies: { w: ['y'] } };
    const priority = new Map([['x', 1], ['y', 1], ['z', 1], ['w', 0]]);
    expect(['z', 'x', 'y'].sort(compareReady(priority, dependantsOf(dag)))).toEqual(['y', 'x', 'z']);
  });

  it('names a cycle instead of looping', () => {
    expect(() => criticalPathPriorities({ ids: ['a', 'b'], dependencies: { a: ['b'], b: ['a'] } }, () => 1)).toThrow(/cycle/);
  });
});

describe('critical paths', () => {
  const dag = { ids: ['a', 'b', 'c', 'd'], dependencies: { b: ['a'], c: ['a'], d: ['b', 'c'] } };

  it('predicts the longest chain by the estimates', () => {
    const estimates: Record<string, number> = { a: 1, b: 5, c: 2, d: 3 };
    expect(predictedCriticalPath(dag, (id) => estimates[id] ?? 0)).toEqual({ ids: ['a', 'b', 'd'], ms: 9 });
  });

  it('observes the longest chain by real durations', () => {
    const durations = new Map([
      ['a', 100],
      ['b', 100],
      ['c', 600],
      ['d', 100],
    ]);
    expect(observedCriticalPath(dag, durations)).toEqual({ ids: ['a', 'c', 'd'], ms: 800 });
  });

  it('is not the task that happened to end last: a short lint after a long test on busy slots (issue 22)', () => {
    // test (94 s) and lint (1.9 s) are independent; lint waited for a slot and ended last.
    const graph = { ids: ['core:build', 'stencil:test', 'e2e:lint'], dependencies: { 'stencil:test': ['core:build'] } };
    const durations = new Map([
      ['core:build', 4_000],
      ['stencil:test', 94_000],
      ['e2e:lint', 1_900],
    ]);
    expect(observedCriticalPath(graph, durations)).toEqual({ ids: ['core:build', 'stencil:test'], ms: 98_000 });
  });

  it('leaves out skipped tasks and edges to them', () => {
    const durations = new Map([
      ['a', 100],
      ['b', 300],
    ]);
    expect(observedCriticalPath(dag, durations)).toEqual({ ids: ['a', 'b'], ms: 400 });
    expect(observedCriticalPath(dag, new Map())).toEqual({ ids: [], ms: 0 });
  });
});
