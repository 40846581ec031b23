import { spawn } from 'node:child_process';
import { type SecretMasker, secretMasker, taskEnvironment } from '../util/secrets.js';
import { killTree, ownGroupOnSpawn } from './kill-tree.js';

export interface CapturedRun {
  exitCode: number;
  /** stdout and stderr interleaved in the order they arrived, every secret Stride knows masked. */
  output: string;
}

export interface SpawnRequest {
  command: string;
  args?: readonly string[];
  cwd: string;
  /** The task's environment; Stride's own secrets are removed from it whatever the caller passes. */
  env: NodeJS.ProcessEnv;
  /** Run `command` through the shell (a command line) rather than as a program path. */
  shell: boolean;
  /** Called with each complete line as it arrives (secrets masked), for live output; never with a partial line. */
  onLine?: (line: string) => void;
  /** What masks the output; by default every secret in this process's environment. */
  masker?: SecretMasker;
  /**
   * Aborting kills the process and everything it started. The process then
   * runs in a process group of its own (POSIX), so that the whole tree can be
   * signalled, not just the shell.
   */
  signal?: AbortSignal;
}

/** Grace between SIGTERM and SIGKILL for a task being killed. */
const KILL_GRACE_MS = 2_000;

/** Process groups of running children started in their own group: killed if this process goes away. */
const ownGroups = new Set<number>();
let exitHookInstalled = false;

/** The task's whole process tree: its process group (POSIX), or taskkill /T (Windows). */
function killGroup(pid: number, signal: NodeJS.Signals, wait = false): void {
  killTree(pid, signal, { wait });
}

/**
 * A child in its own process group no longer gets the terminal's Ctrl-C, so
 * when this process is told to stop (or exits) it passes that on to them.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of ownGroups) killGroup(pid, 'SIGKILL', true);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pid of ownGroups) killGroup(pid, signal);
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/**
 * Runs a process to completion with its output captured rather than printed,
 * so that tasks running side by side never interleave their lines: each task's
 * output is shown whole, under its own heading, when it finishes.
 *
 * This is where every task starts, so this is where Stride's secrets are kept
 * from it (its environment) and from what it prints (the output, masked before
 * anyone stores or shows it: a task may print a secret it found elsewhere, or
 * one of the user's AWS secrets, which it does inherit).
 */
export function runCaptured(request: SpawnRequest): Promise<CapturedRun> {
  const masker = request.masker ?? secretMasker();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(request.command, [...(request.args ?? [])], {
      cwd: request.cwd,
      env: taskEnvironment(request.env),
      shell: request.shell,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: request.signal !== undefined && ownGroupOnSpawn(),
    });
    const { signal } = request;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    if (signal && child.pid !== undefined) {
      installExitHook();
      ownGroups.add(child.pid);
      if (signal.aborted) kill();
      else signal.addEventListener('abort', kill, { once: true });
    }
    const pending = { stdout: '', stderr: '' };
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      chunks.push(chunk);
      if (!request.onLine) return;
      const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) request.onLine(masker.mask(line));
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
    });
    child.on('close', (code, exitSignal) => {
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', kill);
      if (child.pid !== undefined) {
        // The shell is gone; anything it left in its group goes with it.
        if (signal?.aborted) killGroup(child.pid, 'SIGKILL');
        ownGroups.delete(child.pid);
      }
      for (const rest of [pending.stdout, pending.stderr]) if (rest && request.onLine) request.onLine(masker.mask(rest));
      if (exitSignal) chunks.push(Buffer.from(`\nkilled by ${exitSignal}\n`));
      resolve({ exitCode: code ?? 1, output: masker.mask(Buffer.concat(chunks).toString('utf8')) });
    });
  });
}
