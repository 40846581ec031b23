/** Options of `@stride/nx:run`, as described in schema.json. */
export interface RunExecutorOptions {
  command?: string | string[];
  cwd?: string;
  env?: Record<string, string>;
  args?: string | string[];
  executor?: string;
  options?: Record<string, unknown>;
  /** Times to run the task again after a failure. */
  retries?: number;
  /** Wait before the first retry (doubled before each next one): milliseconds or "2s". */
  retryDelay?: number | string;
  /** False: Stride never restores nor stores the task (it runs every time). */
  cache?: boolean;
  /** Kill the task (and its child processes) after this long: milliseconds or "10m". */
  timeout?: number | string;
}
