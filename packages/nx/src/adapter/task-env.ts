import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ProjectGraph, Task } from '@nx/devkit';
import { taskEnvironment } from '@stride/core';

/** The part of Nx's `tasks-runner/task-env` module Stride calls. */
interface NxTaskEnvModule {
  getTaskSpecificEnv(task: Task, graph: ProjectGraph): NodeJS.ProcessEnv;
}

/**
 * The environment Nx gives each task, for hashing its `{ env }` inputs and for
 * running it. Nx builds a task's environment from its own: the root `.env`
 * files it loaded at start are unloaded, then the task's own files are loaded
 * (`.env.<target>.<configuration>`, `.env.<target>`, `.env`, their `.local`
 * variants, in the project root and then the workspace root). A batch process
 * only inherits the root ones, so without this a `test` target would miss its
 * `.env.test`.
 *
 * The selection and precedence of those files is Nx's own function, called from
 * the workspace's Nx install: the rules have changed between Nx releases
 * (atomized targets, `.local` variants), and reimplementing them would drift.
 */
export class TaskEnvironments {
  private readonly cache = new Map<string, NodeJS.ProcessEnv>();
  private readonly nx: NxTaskEnvModule | undefined;
  /** Why Nx's function could not be loaded (the base environment is used instead), for one warning. */
  readonly warning: string | undefined;

  constructor(
    root: string,
    private readonly projectGraph: ProjectGraph,
    private readonly base: NodeJS.ProcessEnv = process.env,
  ) {
    const loaded = loadNxTaskEnv(root);
    this.nx = loaded.module;
    this.warning = loaded.warning;
  }

  /**
   * What the task's own code reads before Nx's per-task variables: Nx's task
   * environment with Stride's secrets removed (the task never sees them).
   */
  forTask(task: Task): NodeJS.ProcessEnv {
    let env = this.cache.get(task.id);
    if (!env) {
      const nxEnv = this.nx ? this.nx.getTaskSpecificEnv(task, this.projectGraph) : this.base;
      env = taskEnvironment(nxEnv);
      this.cache.set(task.id, env);
    }
    return env;
  }

  /** Everything a task's process gets: its environment plus the variables Nx sets for every task. */
  forProcess(task: Task, hash: string): NodeJS.ProcessEnv {
    return {
      ...this.forTask(task),
      NX_TASK_TARGET_PROJECT: task.target.project,
      NX_TASK_TARGET_TARGET: task.target.target,
      ...(task.target.configuration ? { NX_TASK_TARGET_CONFIGURATION: task.target.configuration } : {}),
      NX_TASK_HASH: hash,
      LERNA_PACKAGE_NAME: task.target.project,
      // A task that runs Nx again must not start Nx's terminal UI inside Stride's captured output.
      NX_TUI: 'false',
    };
  }
}

function loadNxTaskEnv(root: string): { module?: NxTaskEnvModule; warning?: string } {
  try {
    const required = createRequire(join(root, 'package.json'))('nx/src/tasks-runner/task-env.js') as Partial<NxTaskEnvModule>;
    if (typeof required.getTaskSpecificEnv === 'function') return { module: required as NxTaskEnvModule };
    return { warning: "this Nx version has no getTaskSpecificEnv in nx/src/tasks-runner/task-env.js: tasks get the batch process's environment, without their own .env files" };
  } catch (error) {
    return { warning: `could not load Nx's task environment (${(error as Error).message.split('\n')[0]}): tasks get the batch process's environment, without their own .env files` };
  }
}
