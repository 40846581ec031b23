import { parseAge, StrideError, type TaskLimits } from '@stride/core';
import type { RunExecutorOptions } from '../executors/run/schema.js';

/**
 * Checks a task's `@stride/nx:run` options and returns them typed. Errors name
 * the option, the value and the fix, and fail only that task.
 */
export function validateRunOptions(taskId: string, raw: Record<string, unknown>): RunExecutorOptions {
  const fail = (setting: string, value: unknown, message: string, fix: string): never => {
    throw new StrideError(message, { task: taskId, setting: `options.${setting}`, value, fix });
  };
  const isStringOrList = (value: unknown): value is string | string[] =>
    typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));

  const { command, executor, cwd, env, args, options } = raw;
  if (command === undefined && executor === undefined) {
    fail('command', undefined, '@stride/nx:run needs either "command" or "executor"', 'add "command": "<shell command>" or "executor": "<package>:<name>" to the target options');
  }
  if (command !== undefined && executor !== undefined) {
    fail('executor', executor, '"command" and "executor" cannot both be set', 'keep one: a command runs through the shell, an executor is wrapped');
  }
  if (command !== undefined && (!isStringOrList(command) || (Array.isArray(command) ? command.length === 0 : command.trim() === ''))) {
    fail('command', command, '"command" must be a non-empty string or list of strings', 'e.g. "command": "tsc -p tsconfig.json"');
  }
  if (executor !== undefined && (typeof executor !== 'string' || !/^[^:\s]+:[^:\s]+$/.test(executor))) {
    fail('executor', executor, '"executor" must look like "package:name"', 'e.g. "executor": "@nx/js:tsc"');
  }
  if (executor === '@stride/nx:run') {
    fail('executor', executor, '@stride/nx:run cannot wrap itself', 'name the executor to wrap, or use "command"');
  }
  if (cwd !== undefined && typeof cwd !== 'string') fail('cwd', cwd, '"cwd" must be a string', 'give a folder relative to the workspace root');
  if (env !== undefined && (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string'))) {
    fail('env', env, '"env" must map names to string values', 'e.g. "env": { "NODE_ENV": "production" }');
  }
  if (args !== undefined && !isStringOrList(args)) fail('args', args, '"args" must be a string or list of strings', 'e.g. "args": "--prod"');
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    fail('options', options, '"options" must be an object', 'e.g. "options": { "main": "src/index.ts" }');
  }
  if (raw.cache !== undefined && typeof raw.cache !== 'boolean') fail('cache', raw.cache, '"cache" must be true or false', 'e.g. "cache": false to run the task every time, never restored nor stored');
  const { retries } = raw;
  if (retries !== undefined && !(typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 && retries <= 10)) {
    fail('retries', retries, '"retries" must be a whole number from 0 to 10', 'e.g. "retries": 2');
  }
  runLimits(taskId, raw);
  return raw as RunExecutorOptions;
}

/** Default wait before the first retry. */
const DEFAULT_RETRY_DELAY_MS = 1_000;
/** Below setTimeout's limit (2^31-1 ms): beyond it Node fires at once, so a task would be killed on start. */
const MAX_TIMEOUT_MS = 24 * 86_400_000;
/** Doubled before each of up to 10 retries: 10 minutes becomes at most 85 hours, still under that limit. */
const MAX_RETRY_DELAY_MS = 600_000;

/** The task's `retries`, `retryDelay` and `timeout`, parsed (errors name the option). */
export function runLimits(taskId: string, raw: Record<string, unknown>): TaskLimits {
  const duration = (name: 'retryDelay' | 'timeout'): number => {
    try {
      return parseAge(raw[name], `options.${name}`);
    } catch (error) {
      throw error instanceof StrideError ? new StrideError(`invalid "${name}"`, { ...error.context, task: taskId }) : error;
    }
  };
  const retries = typeof raw.retries === 'number' && Number.isInteger(raw.retries) && raw.retries > 0 ? Math.min(raw.retries, 10) : 0;
  const retryDelayMs = raw.retryDelay === undefined ? DEFAULT_RETRY_DELAY_MS : duration('retryDelay');
  const timeoutMs = raw.timeout === undefined ? undefined : duration('timeout');
  if (timeoutMs === 0) {
    throw new StrideError('"timeout" must be more than zero', { task: taskId, setting: 'options.timeout', value: raw.timeout, fix: 'e.g. "timeout": "10m", or leave it out for no limit' });
  }
  if (timeoutMs !== undefined && timeoutMs > MAX_TIMEOUT_MS) {
    throw new StrideError('"timeout" must be at most 24 days', { task: taskId, setting: 'options.timeout', value: raw.timeout, fix: 'e.g. "timeout": "10m", or leave it out for no limit' });
  }
  if (retryDelayMs > MAX_RETRY_DELAY_MS) {
    throw new StrideError('"retryDelay" must be at most 10 minutes (it doubles before each retry)', { task: taskId, setting: 'options.retryDelay', value: raw.retryDelay, fix: 'e.g. "retryDelay": "5s"' });
  }
  return { retries, retryDelayMs, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}
