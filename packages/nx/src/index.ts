/**
 * The Nx plugin entry, listed in nx.json `plugins`. Nx loads it on every run,
 * so it imports nothing heavy: the engine is loaded by the executor only when
 * tasks actually run.
 */
import type { NxPlugin, PreTasksExecutionContext } from '@nx/devkit';
import { resolveParallel, wantsBail, wantsStreamedOutput } from './parallel.js';

export const name = '@stride/nx';

export const preTasksExecution: NxPlugin['preTasksExecution'] = (_options: unknown, context: PreTasksExecutionContext) => {
  process.env.STRIDE_PARALLEL = String(
    resolveParallel(context.argv, process.env, context.nxJsonConfiguration.parallel),
  );
  // Under Nx's stream output style each task's lines are printed live, prefixed;
  // otherwise a task's output is printed whole under its heading when it ends.
  process.env.STRIDE_STREAM_OUTPUT = String(wantsStreamedOutput(context.argv));
  // `--nxBail` does not reach a batch either: with it, the first failure stops the run.
  process.env.STRIDE_BAIL = String(wantsBail(context.argv));
};
