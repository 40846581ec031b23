/**
 * Runs one wrapped executor in its own process, so its output can be captured
 * per task and tasks can run side by side. Launched by execute-task.ts with the
 * path of a job file; exits 0 on success.
 */
import { readFileSync } from 'node:fs';
import type { ExecutorContext } from '@nx/devkit';
import { removeStrideSecrets } from '@stride/core';

export interface WrappedExecutorJob {
  root: string;
  project: string;
  target: string;
  configuration: string | null;
  executor: string;
  options: Record<string, unknown>;
  /** The task's command-line overrides (`--x=1`, `-- --flag`), handed to the executor as Nx hands them. */
  overrides?: Record<string, unknown>;
  /** JSON of the run's ExecutorContext, written once per batch. */
  contextFile: string;
}

async function main(jobFile: string): Promise<boolean> {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as WrappedExecutorJob;
  const context = JSON.parse(readFileSync(job.contextFile, 'utf8')) as ExecutorContext;
  const { runExecutor } = await import('@nx/devkit');
  // The executor runs in this process and reads process.env: the parent already
  // left Stride's secrets out; this makes sure, after Nx's code has loaded (it
  // can load .env files, where a user may keep them).
  removeStrideSecrets(process.env);
  const project = context.projectsConfigurations.projects[job.project];
  if (!project) throw new Error(`project ${job.project} is not in the workspace`);
  // runExecutor runs whatever executor the target names: point this target at
  // the wrapped executor and its options, for this process only.
  const wrappedTarget = { ...(project.targets?.[job.target] ?? {}), executor: job.executor, options: job.options, configurations: {} };
  const wrappedContext: ExecutorContext = {
    ...context,
    projectName: job.project,
    targetName: job.target,
    ...(job.configuration ? { configurationName: job.configuration } : {}),
    projectsConfigurations: {
      ...context.projectsConfigurations,
      projects: {
        ...context.projectsConfigurations.projects,
        [job.project]: { ...project, targets: { ...(project.targets ?? {}), [job.target]: wrappedTarget } },
      },
    },
  };
  let success = true;
  for await (const result of await runExecutor<{ success: boolean }>({ project: job.project, target: job.target }, job.overrides ?? {}, wrappedContext)) {
    success = success && result.success;
  }
  return success;
}

const jobFile = process.argv[2];
if (jobFile) {
  main(jobFile).then(
    (success) => process.exit(success ? 0 : 1),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
