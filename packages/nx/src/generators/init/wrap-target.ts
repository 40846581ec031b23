import type { TargetConfiguration } from '@nx/devkit';

export const STRIDE_EXECUTOR = '@stride/nx:run';

/**
 * The same target running through Stride: its command (or executor) and
 * options move into @stride/nx:run's options; dependsOn, inputs, outputs and
 * everything else stay as they were. Already-wrapped targets come back as is.
 */
export function wrapTarget(target: TargetConfiguration): TargetConfiguration {
  if (target.executor === STRIDE_EXECUTOR) return target;
  const { executor, command, options = {}, configurations, ...rest } = target as TargetConfiguration & { command?: string };
  const isRunCommands = executor === undefined || executor === 'nx:run-commands';
  if (isRunCommands) {
    return {
      ...rest,
      executor: STRIDE_EXECUTOR,
      options: runCommandsToStride({ ...(command !== undefined ? { command } : {}), ...options }),
      ...(configurations ? { configurations: mapValues(configurations, (c) => runCommandsToStride(c)) } : {}),
    };
  }
  return {
    ...rest,
    executor: STRIDE_EXECUTOR,
    options: { executor, options },
    // Configurations replace the wrapped options whole, so each carries the base ones.
    ...(configurations ? { configurations: mapValues(configurations, (c) => ({ options: { ...options, ...c } })) } : {}),
  };
}

/** nx:run-commands options in Stride's terms (`commands` become a command list run in order). */
function runCommandsToStride(options: Record<string, unknown>): Record<string, unknown> {
  const { command, commands, cwd, env, args } = options;
  const list = Array.isArray(commands)
    ? commands.map((c: unknown) => (typeof c === 'string' ? c : String((c as { command?: unknown }).command ?? '')))
    : undefined;
  const out: Record<string, unknown> = {};
  if (list) out.command = list;
  else if (command !== undefined) out.command = command;
  if (cwd !== undefined) out.cwd = cwd;
  if (env !== undefined) out.env = env;
  if (args !== undefined) out.args = args;
  return out;
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
