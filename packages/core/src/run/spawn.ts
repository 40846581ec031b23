import { spawn } from 'node:child_process';

export interface CapturedRun {
  exitCode: number;
  /** stdout and stderr interleaved in the order they arrived. */
  output: string;
}

export interface SpawnRequest {
  command: string;
  args?: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Run `command` through the shell (a command line) rather than as a program path. */
  shell: boolean;
}

/**
 * Runs a process to completion with its output captured rather than printed,
 * so that tasks running side by side never interleave their lines: each task's
 * output is shown whole, under its own heading, when it finishes.
 */
export function runCaptured(request: SpawnRequest): Promise<CapturedRun> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(request.command, [...(request.args ?? [])], {
      cwd: request.cwd,
      env: request.env,
      shell: request.shell,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
    });
    child.on('close', (code, signal) => {
      if (signal) chunks.push(Buffer.from(`\nkilled by ${signal}\n`));
      resolve({ exitCode: code ?? 1, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
