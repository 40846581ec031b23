import { describe, expect, it } from 'vitest';
import { adoptNxInvocation, resolveParallel } from './parallel.js';

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

describe('adoptNxInvocation (no plugin entry: the command line of the Nx process that forked the batch)', () => {
  it('reads --parallel, --nxBail and the output style from that process, replacing values inherited from an outer run', async () => {
    const { spawn } = await import('node:child_process');
    const nx = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)', 'run-many', '-t', 'build', '--parallel=5', '--nxBail', '--outputStyle=stream']);
    try {
      const env: NodeJS.ProcessEnv = { NX_INVOCATION_ANCESTOR_PIDS: `1,${nx.pid}`, STRIDE_PARALLEL: '9', STRIDE_INVOCATION_PID: '1' };
      adoptNxInvocation(undefined, env);
      expect(env).toMatchObject({ STRIDE_PARALLEL: '5', STRIDE_BAIL: 'true', STRIDE_STREAM_OUTPUT: 'true', STRIDE_INVOCATION_PID: String(nx.pid) });
      // Set for this very Nx process (by the plugin hook, or an earlier batch): kept as they are.
      env.STRIDE_PARALLEL = '2';
      adoptNxInvocation(undefined, env);
      expect(env.STRIDE_PARALLEL).toBe('2');
    } finally {
      nx.kill();
    }
  });

  it('falls back to nx.json and Nx defaults when the process cannot be read', () => {
    const env: NodeJS.ProcessEnv = { NX_INVOCATION_ANCESTOR_PIDS: '2147483646' };
    adoptNxInvocation(6, env);
    expect(env).toMatchObject({ STRIDE_PARALLEL: '6', STRIDE_BAIL: 'false', STRIDE_STREAM_OUTPUT: 'false' });
  });
});
