import { spawn, spawnSync } from 'node:child_process';

/** How a process tree is ended here, injectable so the Windows path can be checked on any machine. */
export interface KillDeps {
  platform: NodeJS.Platform;
  /** POSIX: signals a process group (`process.kill(-pid)`). */
  killGroup(pid: number, signal: NodeJS.Signals): void;
  /** Windows: runs taskkill, synchronously when `wait` (an exit handler cannot wait for anything else). */
  run(command: string, args: string[], wait: boolean): void;
}

const realDeps: KillDeps = {
  platform: process.platform,
  killGroup: (pid, signal) => process.kill(-pid, signal),
  run: (command, args, wait) => {
    if (wait) spawnSync(command, args, { stdio: 'ignore', windowsHide: true, timeout: 5_000 });
    else spawn(command, args, { stdio: 'ignore', windowsHide: true }).on('error', () => {});
  },
};

/**
 * Ends a task's process and everything it started. POSIX: the task runs in a
 * process group of its own, signalled whole. Windows has no process groups to
 * signal (`process.kill(-pid)` throws there), so `taskkill /T` walks the tree by
 * parent pid, and `/F` because console programs ignore the polite close; there
 * is no grace period to give, so SIGTERM and SIGKILL do the same.
 */
export function killTree(pid: number, signal: NodeJS.Signals, options: { wait?: boolean } = {}, deps: KillDeps = realDeps): void {
  try {
    if (deps.platform === 'win32') deps.run('taskkill', ['/pid', String(pid), '/T', '/F'], options.wait ?? false);
    else deps.killGroup(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Whether a task that may be killed needs a process group of its own (POSIX), or must not get one (Windows: a new console). */
export const ownGroupOnSpawn = (platform: NodeJS.Platform = process.platform): boolean => platform !== 'win32';
