import type { ProjectGraphProjectNode } from '@nx/devkit';
import { stableStringify } from '@stride/core';
import { withoutRunLimits } from '../task-options.js';

/**
 * What Nx 24 hashes of a project's configuration (its `ProjectConfiguration`
 * hash instruction): the root, the tags, the project's named inputs and, for
 * every target, its name, executor, outputs, options, configurations and
 * `parallelism`. Nx adds it to every task of the project and to every task
 * that reaches the project through a `^` or `projects` input, so adding an
 * output to a library's build re-runs its dependants too (an `nx:run-script`
 * target adds its script's text). `inputs`, `dependsOn`, `cache` and
 * `metadata` are not in it (they change what is hashed, or nothing), nor are
 * Stride's `retries`, `retryDelay` and `timeout`, which say how to run a task,
 * not what it computes.
 *
 * Canonical JSON (keys sorted), so reordering keys in project.json changes nothing.
 */
export function projectConfigurationText(node: ProjectGraphProjectNode): string {
  const targets = Object.entries(node.data.targets ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, target]) => ({
      name,
      executor: target.executor,
      outputs: target.outputs,
      options: target.options === undefined ? undefined : withoutRunLimits(target.options as Record<string, unknown>),
      // As Nx does: an npm script's text lives in package.json, not in the options that run it.
      script: target.executor === 'nx:run-script' && typeof target.metadata?.scriptContent === 'string' ? target.metadata.scriptContent : undefined,
      configurations: target.configurations
        ? Object.fromEntries(Object.entries(target.configurations).map(([key, value]) => [key, withoutRunLimits((value ?? {}) as Record<string, unknown>)]))
        : undefined,
      parallelism: target.parallelism,
    }));
  return stableStringify({ root: node.data.root, tags: node.data.tags ?? [], namedInputs: node.data.namedInputs, targets });
}
