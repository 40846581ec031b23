/**
 * Errors that reach a user name what went wrong, where, and how to fix it.
 * Boundaries (config readers, the runner, the store) return or throw these
 * instead of bare Errors so the message always carries its context.
 */
export interface StrideErrorContext {
  /** The setting or option at fault, e.g. `stride.cacheDirectory` or `options.command`. */
  setting?: string;
  /** The offending value, already safe to print (never a secret). */
  value?: unknown;
  /** What the user should do about it. */
  fix?: string;
  /** The task it happened in, e.g. `app:build`. */
  task?: string;
}

export class StrideError extends Error {
  readonly context: StrideErrorContext;

  constructor(message: string, context: StrideErrorContext = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, context), options);
    this.name = 'StrideError';
    this.context = context;
  }
}

function formatMessage(message: string, context: StrideErrorContext): string {
  const where = context.task ? `[${context.task}] ` : '';
  const parts = [`${where}${message}`];
  if (context.setting !== undefined) {
    const value = context.value === undefined ? '' : ` = ${JSON.stringify(context.value)}`;
    parts.push(`  setting: ${context.setting}${value}`);
  }
  if (context.fix) parts.push(`  fix: ${context.fix}`);
  return parts.join('\n');
}

/** The message of anything thrown, for places that report rather than rethrow. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
