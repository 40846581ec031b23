import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { NxJsonConfiguration, ProjectGraph, TaskGraph } from '@nx/devkit';
import { buildHashRecord, errorMessage, FileHasher, FileIndex, type FileList, type HashRecord, listWorkspaceFiles, stableStringify } from '@stride/core';
import { TaskEnvironments } from './task-env.js';
import { NxTaskHasher } from './task-hasher.js';

/** The part of Nx's `tasks-runner/create-task-graph` module Stride calls. */
interface NxTaskGraphModule {
  createTaskGraph(
    projectGraph: ProjectGraph,
    extraTargetDependencies: Record<string, never>,
    projectNames: string[],
    targets: string[],
    configuration: string | undefined,
    overrides: Record<string, unknown>,
  ): TaskGraph;
}

/** A task hashed as the checkout is now, with the record `stride why` compares. */
export interface TaskHashNow {
  hash: string;
  record: HashRecord;
  files: ReadonlyMap<string, FileList>;
}

/**
 * Hashes one task the way the next `nx run` would, without running anything:
 * `stride why` must explain the miss a pull request is about to have, not only
 * the one its last run had. The task graph is Nx's own (`createTaskGraph`, as
 * `nx run` builds it: dependsOn from the project graph, where targetDefaults are
 * already merged), so a `dependentTasksOutputFiles` input reads the same
 * dependency outputs; the hasher is the batch's. The file-hash cache is read
 * but not written: a build may be running beside it.
 */
export async function hashTaskNow(root: string, projectGraph: ProjectGraph, nxJson: NxJsonConfiguration, strideDir: string, taskId: string): Promise<TaskHashNow | { problem: string }> {
  const [project, target, configuration] = taskId.split(':') as [string, string, string | undefined];
  let taskGraph: TaskGraph;
  try {
    const nx = createRequire(join(root, 'package.json'))('nx/src/tasks-runner/create-task-graph.js') as Partial<NxTaskGraphModule>;
    if (typeof nx.createTaskGraph !== 'function') return { problem: "this Nx version has no createTaskGraph in nx/src/tasks-runner/create-task-graph.js" };
    taskGraph = nx.createTaskGraph(projectGraph, {}, [project], [target], configuration, {});
  } catch (error) {
    return { problem: `Nx could not build the task graph of ${taskId} (${errorMessage(error).split('\n')[0]})` };
  }
  if (!taskGraph.tasks[taskId]) return { problem: `Nx's task graph for ${taskId} has no such task (its tasks: ${Object.keys(taskGraph.tasks).join(', ') || 'none'})` };
  try {
    const fileHasher = new FileHasher(root, join(strideDir, 'file-hashes.json'));
    await fileHasher.load();
    const files = new FileIndex(await listWorkspaceFiles(root));
    const hasher = new NxTaskHasher(root, projectGraph, taskGraph, nxJson, files, fileHasher, new TaskEnvironments(root, projectGraph));
    const hash = await hasher.hash(taskId);
    const explained = hasher.explain(taskId);
    if (!explained) return { problem: `the hasher kept no record of ${taskId}` };
    const record = await buildHashRecord(taskId, hash, explained.fingerprint, stableStringify(explained.fingerprint.options));
    return { hash, record, files: explained.files };
  } catch (error) {
    return { problem: `could not hash ${taskId} as the checkout is now (${errorMessage(error).split('\n')[0]})` };
  }
}
