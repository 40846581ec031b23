import { describe, expect, it } from 'vitest';
import { compareReady, criticalPathPriorities, dependantsOf } from './critical-path.js';

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
