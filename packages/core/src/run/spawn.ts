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
  /** Called with each complete line as it arrives, for live output; never with a partial line. */
  onLine?: (line: string) => void;
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
    const pending = { stdout: '', stderr: '' };
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      chunks.push(chunk);
      if (!request.onLine) return;
      const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) request.onLine(line);
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
    });
    child.on('close', (code, signal) => {
      for (const rest of [pending.stdout, pending.stderr]) if (rest && request.onLine) request.onLine(rest);
      if (signal) chunks.push(Buffer.from(`\nkilled by ${signal}\n`));
      resolve({ exitCode: code ?? 1, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
