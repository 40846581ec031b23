import type { TargetConfiguration } from '@nx/devkit';

export const STRIDE_EXECUTOR = '@stride/nx:run';

/** Why a target was not taken over, for init's note. */
export interface NotWrapped {
  reason: string;
}

/**
 * The same target running through Stride, exactly as it ran before: its
 * executor (nx:run-commands for a bare `command`, nx:run-script for a
 * package.json script) runs unchanged inside @stride/nx:run, so Nx's own code
 * keeps deciding the working directory, `{args.x}` interpolation, `commands`
 * with `parallel`, `readyWhen`, `envFile`, `forwardAllArgs` and extra flags.
 * dependsOn, inputs, outputs and everything else stay as they were, and
 * `{options.x}` in outputs follows the options to `{options.options.x}`.
 *
 * `executorFromDefaults` is the executor targetDefaults give a target that
 * names none (a partial `test` entry that only sets options). Continuous
 * targets (dev servers) are left to Nx: there is nothing to cache.
 */
export function wrapTarget(target: TargetConfiguration, context: { executorFromDefaults?: string; script?: string } = {}): TargetConfiguration | NotWrapped {
  if (target.executor === STRIDE_EXECUTOR) return target;
  if ((target as { continuous?: boolean }).continuous === true) return { reason: 'it is continuous (a long-running process): Nx runs it, there is nothing to cache' };
  const { executor: own, command, options = {}, configurations, outputs, ...rest } = target as TargetConfiguration & { command?: string };
  const executor = own ?? (command !== undefined || 'command' in options || 'commands' in options ? 'nx:run-commands' : context.executorFromDefaults ?? (context.script !== undefined ? 'nx:run-script' : undefined));
  if (executor === undefined) return { reason: 'it names no executor or command here, and none comes from targetDefaults or a package.json script' };
  if (executor === STRIDE_EXECUTOR) return target;
  const base: Record<string, unknown> = { ...(command !== undefined ? { command } : {}), ...(executor === 'nx:run-script' && own === undefined && !('script' in options) ? { script: context.script } : {}), ...options };
  return {
    ...rest,
    executor: STRIDE_EXECUTOR,
    options: { executor, options: base },
    ...(outputs ? { outputs: outputs.map(followOptions) } : {}),
    // Configurations replace the wrapped options whole, so each carries the base ones.
    ...(configurations ? { configurations: Object.fromEntries(Object.entries(configurations).map(([name, c]) => [name, { options: { ...base, ...(c ?? {}) } }])) } : {}),
  };
}

export function isNotWrapped(value: TargetConfiguration | NotWrapped): value is NotWrapped {
  return 'reason' in value && typeof (value as NotWrapped).reason === 'string';
}

/** `{options.outputPath}` names the wrapped executor's option, which now lives one level down. */
function followOptions(output: string): string {
  return output.replace(/\{options\./g, '{options.options.');
}

/**
 * The target as it was before `wrapTarget`: the wrapped executor with its own
 * options, configurations back to what they add to those options, and
 * `{options.options.x}` outputs back to `{options.x}`. Undefined for a target
 * that is a Stride `command` (there is no executor to go back to).
 */
export function unwrapTarget(target: TargetConfiguration): TargetConfiguration | undefined {
  const { executor: _stride, options = {}, configurations, outputs, ...rest } = target;
  // Stride's own run limits have no meaning to the executor; anything else set beside `executor` was meant for it.
  const { executor, options: inner = {}, retries: _r, retryDelay: _d, timeout: _t, cache: _c, ...extra } = options as { executor?: unknown; options?: Record<string, unknown>; [key: string]: unknown };
  if (typeof executor !== 'string') return undefined;
  return {
    ...rest,
    executor,
    options: { ...inner, ...extra },
    ...(outputs ? { outputs: outputs.map((output) => output.replace(/\{options\.options\./g, '{options.')) } : {}),
    ...(configurations
      ? {
          configurations: Object.fromEntries(
            Object.entries(configurations).map(([name, c]) => {
              const own = ((c as { options?: Record<string, unknown> } | undefined)?.options ?? c ?? {}) as Record<string, unknown>;
              return [name, Object.fromEntries(Object.entries(own).filter(([key, value]) => JSON.stringify(inner[key]) !== JSON.stringify(value)))];
            }),
          ),
        }
      : {}),
  };
}
