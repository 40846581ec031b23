/**
 * The Nx plugin entry, listed in nx.json `plugins` only to hold Stride's
 * settings there. Nx loads it on every run (under its default plugin
 * isolation, in a worker process), so it imports nothing heavy and, where it
 * can, registers no hook: a plugin without hooks costs one short-lived worker,
 * one with a task hook a second worker start before the tasks (about 0.2 s).
 * The batch reads `--parallel`, `--nxBail` and the output style from Nx's
 * command line itself (`adoptNxInvocation`), except on Windows, which has
 * neither /proc nor `ps`: there this hook passes them on.
 */
import type { NxPlugin, PreTasksExecutionContext } from '@nx/devkit';
import { setInvocation } from './parallel.js';

export const name = '@stride/nx';

const passInvocation: NxPlugin['preTasksExecution'] = (_options: unknown, context: PreTasksExecutionContext) => {
  // Under Nx's plugin isolation this runs in a plugin worker that Nx spawned; the batch names Nx itself as its invoker.
  const inWorker = /plugin-worker\.[cm]?[jt]s$/.test(process.argv[1] ?? '');
  setInvocation(context.argv, process.env, context.nxJsonConfiguration.parallel, inWorker ? process.ppid : process.pid);
};

export const preTasksExecution: NxPlugin['preTasksExecution'] = process.platform === 'win32' ? passInvocation : undefined;
