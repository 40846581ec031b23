import type { Task, TargetConfiguration } from '@nx/devkit';

/**
 * A task's options as its executor sees them: the target's options, then its
 * configuration's, then command-line overrides. Nx's own bookkeeping keys
 * (`__overrides_unparsed__`) are left out; they repeat the overrides.
 */
export function resolveTaskOptions(task: Task, target: TargetConfiguration | undefined): Record<string, unknown> {
  const configuration = task.target.configuration ? (target?.configurations?.[task.target.configuration] ?? {}) : {};
  const merged: Record<string, unknown> = { ...(target?.options ?? {}), ...configuration };
  for (const [key, value] of Object.entries(task.overrides ?? {})) {
    if (!key.startsWith('__')) merged[key] = value;
  }
  return merged;
}

/** Options that say how to run or cache a task, not what it computes: they stay out of its hash. */
const RUN_LIMIT_OPTIONS = ['retries', 'retryDelay', 'timeout', 'cache'] as const;

/**
 * The options minus `retries`, `retryDelay`, `timeout` and `cache`: raising a
 * timeout, adding retries or turning caching back on must not throw away a
 * cached result that is still right.
 */
export function withoutRunLimits(options: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...options };
  for (const key of RUN_LIMIT_OPTIONS) delete rest[key];
  return rest;
}
