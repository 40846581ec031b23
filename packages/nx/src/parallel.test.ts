import { describe, expect, it } from 'vitest';
import { resolveParallel } from './parallel.js';

describe('resolveParallel (as Nx 24 reads --parallel)', () => {
  it.each([
    [['run-many', '-t', 'build', '--parallel=5'], {}, undefined, 5],
    [['run-many', '--parallel', '2', '-t', 'build'], {}, 8, 2],
    [['run-many', '--parallel=false'], {}, 8, 1],
    [['run-many', '--parallel'], {}, undefined, 3],
    [['run-many', '--parallel', '--maxParallel=6'], {}, undefined, 6],
    [['run-many'], { NX_PARALLEL: '4' }, 8, 4],
    [['run-many'], {}, 7, 7],
    [['run-many'], {}, undefined, 3],
  ] as const)('%j env=%j nx.json=%j -> %d', (argv, env, nxJson, expected) => {
    expect(resolveParallel(argv, env, nxJson)).toBe(expected);
  });
});
