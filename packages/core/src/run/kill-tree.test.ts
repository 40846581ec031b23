import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type KillDeps, killTree, ownGroupOnSpawn } from './kill-tree.js';

const recorder = (platform: NodeJS.Platform): { deps: KillDeps; calls: unknown[][] } => {
  const calls: unknown[][] = [];
  return { calls, deps: { platform, killGroup: (...args) => calls.push(['group', ...args]), run: (...args) => calls.push(['run', ...args]) } };
};

describe('killTree', () => {
  it('on Windows, ends the whole tree with taskkill /pid <pid> /T /F (synchronously from an exit handler), and spawns no process group', () => {
    const { deps, calls } = recorder('win32');
    killTree(4242, 'SIGTERM', {}, deps);
    killTree(4242, 'SIGKILL', { wait: true }, deps);
    expect(calls).toEqual([
      ['run', 'taskkill', ['/pid', '4242', '/T', '/F'], false],
      ['run', 'taskkill', ['/pid', '4242', '/T', '/F'], true],
    ]);
    expect(ownGroupOnSpawn('win32')).toBe(false);
  });

  it('on POSIX, signals the process group', () => {
    const { deps, calls } = recorder('linux');
    killTree(4242, 'SIGTERM', {}, deps);
    expect(calls).toEqual([['group', 4242, 'SIGTERM']]);
    expect(ownGroupOnSpawn('linux')).toBe(true);
  });

  it('really ends a process group here', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closed = new Promise((resolve) => child.once('close', resolve));
    killTree(child.pid as number, 'SIGKILL');
    await closed;
    expect(child.signalCode).toBe('SIGKILL');
  });
});
