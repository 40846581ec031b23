import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutorContext, Task, TaskGraph } from '@nx/devkit';
import { type ExecutionResult, existingOutputPaths, runCaptured, type SpawnRequest, strayWrites } from '@stride/core';
import type { RunExecutorOptions } from '../executors/run/schema.js';
import { isStreaming, printTaskLine } from './live-output.js';
import type { TaskEnvironments } from './task-env.js';
import { validateRunOptions } from './validate-options.js';
import type { WrappedExecutorJob } from './wrapped-executor-worker.js';

const WORKER = fileURLToPath(new URL('./wrapped-executor-worker.js', import.meta.url));

/** What executing tasks needs to know about the run, shared by all of its tasks. */
export interface ExecutionContext {
  root: string;
  context: ExecutorContext;
  taskGraph: TaskGraph;
  /** Files handed to wrapped-executor workers. */
  scratch: WorkerScratch;
  /** Each task's environment, as Nx would give it (its own .env files loaded). */
  environments: TaskEnvironments;
}

/**
 * The folder of job files for wrapped-executor workers, with the run's
 * ExecutorContext (the whole project graph) written once. Made on first use:
 * a run of shell commands only never serializes the graph.
 */
export class WorkerScratch {
  private dir: string | undefined;

  constructor(private readonly context: ExecutorContext) {}

  /** The folder, and the path of the context file in it. */
  open(): { dir: string; contextFile: string } {
    if (!this.dir) {
      this.dir = mkdtempSync(join(tmpdir(), 'stride-run-'));
      writeFileSync(join(this.dir, 'context.json'), JSON.stringify({ ...this.context, taskGraph: undefined }));
    }
    return { dir: this.dir, contextFile: join(this.dir, 'context.json') };
  }

  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs one task for real, in a child process whose output is captured: a shell
 * command, or a wrapped executor in a small Nx worker. Options are checked
 * first so a mistake fails this task with a message naming the option.
 */
export async function executeTask(run: ExecutionContext, task: Task, rawOptions: Record<string, unknown>, hash: string, signal?: AbortSignal): Promise<ExecutionResult> {
  const options = validateRunOptions(task.id, rawOptions);
  const projectRoot = run.context.projectsConfigurations.projects[task.target.project]?.root ?? '.';
  // The batch keeps Stride's secrets (it signs and encrypts); the task never
  // sees them (runCaptured strips them again, whatever it is given). The
  // user's AWS_* variables pass, as Nx passes them: a deploy may need them.
  const env: NodeJS.ProcessEnv = { ...run.environments.forProcess(task, hash), ...(options.env ?? {}) };
  const cwd = join(run.root, options.cwd ?? projectRoot);
  const requests = options.command !== undefined ? commandRequests(options, task, cwd, env) : [wrappedRequest(run, task, options, env)];
  const live = isStreaming();
  const startedAt = Date.now();
  let output = '';
  for (const request of requests) {
    const withSignal = signal ? { ...request, signal } : request;
    const result = await runCaptured(live ? { ...withSignal, onLine: (line) => printTaskLine(task.id, line) } : withSignal);
    output += result.output;
    if (result.exitCode !== 0 || signal?.aborted) return { success: false, terminalOutput: output };
  }
  const stray = await strayWrites(run.root, projectRoot, startedAt, task.outputs ?? []).catch(() => []);
  const warnings =
    stray.length > 0
      ? [`${task.id} wrote ${stray.length === 1 ? 'a file' : `${stray.length} files`} outside its declared outputs (${stray.slice(0, 3).join(', ')}${stray.length > 3 ? ', ...' : ''}): they are not cached, so a restore will not bring them back; add them to the target's "outputs"`]
      : [];
  const outputs = task.outputs ?? [];
  // Only an answer of "nothing there" warns: an outputs check that fails says nothing (the store reports its own errors).
  if (outputs.length > 0 && (await existingOutputPaths(run.root, outputs).catch(() => undefined))?.length === 0) {
    warnings.push(`${task.id} declares outputs (${outputs.join(', ')}) but nothing is there after it ran: a restore will bring nothing back (and saves no time); point the target's "outputs" at what it writes`);
  }
  return { success: true, terminalOutput: output, warnings };
}

function commandRequests(options: RunExecutorOptions, task: Task, cwd: string, env: NodeJS.ProcessEnv): SpawnRequest[] {
  const commands = Array.isArray(options.command) ? [...options.command] : [options.command as string];
  const extra = [...toList(options.args), ...toList(unparsedOverrides(task))];
  if (extra.length > 0) commands[commands.length - 1] = `${commands[commands.length - 1]} ${extra.join(' ')}`;
  return commands.map((command) => ({ command, cwd, env, shell: true }));
}

function wrappedRequest(run: ExecutionContext, task: Task, options: RunExecutorOptions, env: NodeJS.ProcessEnv): SpawnRequest {
  const { dir, contextFile } = run.scratch.open();
  const job: WrappedExecutorJob = {
    root: run.root,
    project: task.target.project,
    target: task.target.target,
    configuration: task.target.configuration ?? null,
    executor: options.executor as string,
    options: { ...(options.options ?? {}), ...optionsForTheExecutor(options) },
    overrides: task.overrides ?? {},
    contextFile,
  };
  const jobFile = join(dir, `${task.id.replace(/[^a-zA-Z0-9_.-]/g, '_')}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  return { command: process.execPath, args: [WORKER, jobFile], cwd: run.root, env, shell: false };
}

/** The options @stride/nx:run itself reads; every other one beside `executor` is the wrapped executor's. */
const STRIDE_OPTIONS = new Set(['command', 'cwd', 'env', 'args', 'executor', 'options', 'cache', 'retries', 'retryDelay', 'timeout']);

/**
 * Options set beside `executor` rather than inside `options`: a project.json
 * entry that only sets options (`"test": { "options": { "passWithNoTests": true } }`)
 * merges them there when the target it refines is inferred and wrapped. Under
 * Nx they would reach the executor, so they do here.
 */
function optionsForTheExecutor(options: RunExecutorOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !STRIDE_OPTIONS.has(key)));
}

/** Arguments Nx did not parse (`nx run app:build -- --flag`), passed on like nx:run-commands does. */
function unparsedOverrides(task: Task): string[] {
  const unparsed = task.overrides?.['__overrides_unparsed__'];
  return Array.isArray(unparsed) ? unparsed.filter((item): item is string => typeof item === 'string') : [];
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
