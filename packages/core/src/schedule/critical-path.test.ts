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

  it('observes the chain that decided the end: back from the last task through the dependency it waited for', () => {
    const spans = new Map([
      ['a', { start: 0, end: 100 }],
      ['b', { start: 100, end: 200 }],
      ['c', { start: 100, end: 700 }],
      ['d', { start: 700, end: 800 }],
    ]);
    expect(observedCriticalPath(dag, spans)).toEqual({ ids: ['a', 'c', 'd'], ms: 800 });
  });
});
