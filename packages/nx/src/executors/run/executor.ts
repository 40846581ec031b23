import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { strideRun, type NxTaskResult } from '../../adapter/stride-run.js';
import type { RunExecutorOptions } from './schema.js';

/**
 * Nx hands every connected task that uses this executor to one call (see
 * `preferBatch` in executors.json): this call is Stride's task runner for them.
 */
export async function* runBatchExecutor(
  taskGraph: TaskGraph,
  _inputs: Record<string, RunExecutorOptions>,
  _overrides: RunExecutorOptions,
  context: ExecutorContext,
): AsyncGenerator<NxTaskResult> {
  yield* strideRun(Object.keys(taskGraph.tasks), context, context.taskGraph ?? taskGraph);
}

/**
 * One task at a time (`--batch=false`, `NX_BATCH_MODE=false`, `nx run`): the
 * same hashing, store and execution as a batch, for a graph of one.
 */
export async function runExecutor(_options: RunExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  const taskGraph = context.taskGraph;
  const taskId = findTaskId(context);
  if (!taskGraph || !taskId) throw new Error(`Stride could not find task ${context.projectName}:${context.targetName} in Nx's task graph`);
  let success = true;
  for await (const { result } of strideRun([taskId], context, taskGraph)) {
    if (result.terminalOutput) process.stdout.write(result.terminalOutput);
    success &&= result.success;
  }
  return { success };
}

function findTaskId(context: ExecutorContext): string | undefined {
  const tasks = Object.values(context.taskGraph?.tasks ?? {});
  return tasks.find(
    (task) =>
      task.target.project === context.projectName &&
      task.target.target === context.targetName &&
      (task.target.configuration ?? undefined) === (context.configurationName ?? undefined),
  )?.id;
}

export default runExecutor;
