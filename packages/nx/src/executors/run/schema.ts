/** Options of `@stride/nx:run`, as described in schema.json. */
export interface RunExecutorOptions {
  command?: string | string[];
  cwd?: string;
  env?: Record<string, string>;
  args?: string | string[];
  executor?: string;
  options?: Record<string, unknown>;
}
