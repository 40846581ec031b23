/**
 * The Nx plugin entry, listed in nx.json `plugins` only to hold Stride's
 * settings there (Nx then loads it on every run, so it imports nothing heavy).
 * Without the entry the executor reads Nx's command line itself.
 */
import type { NxPlugin, PreTasksExecutionContext } from '@nx/devkit';
import { setInvocation } from './parallel.js';

export const name = '@stride/nx';

export const preTasksExecution: NxPlugin['preTasksExecution'] = (_options: unknown, context: PreTasksExecutionContext) => {
  // Under Nx's plugin isolation this runs in a plugin worker that Nx spawned; the batch names Nx itself as its invoker.
  const inWorker = /plugin-worker\.[cm]?[jt]s$/.test(process.argv[1] ?? '');
  setInvocation(context.argv, process.env, context.nxJsonConfiguration.parallel, inWorker ? process.ppid : process.pid);
};
