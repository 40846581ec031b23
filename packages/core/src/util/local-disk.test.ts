import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskWriteProblem, makeDir } from './local-disk.js';

describe('makeDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'stride-make-dir-'));

  it('makes every missing level, and accepts a folder that is there', async () => {
    await makeDir(join(root, 'a', 'b', 'c'));
    await makeDir(join(root, 'a', 'b', 'c'));
    expect(statSync(join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
  });

  // Node's own recursive mkdir spins forever on both of these.
  it('ends with ENOENT under /proc, where the parent exists and refuses children', async () => {
    await expect(makeDir('/proc/stride-cache/.tmp')).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('ends with ENOENT under a dangling symlink', async () => {
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    await expect(makeDir(join(root, 'dangling', 'cache'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDir(join(root, 'dangling'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('refuses a file in the way with ENOTDIR', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await expect(makeDir(join(root, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDir(join(root, 'file', 'cache'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('diskWriteProblem', () => {
  it('names disk causes and nothing else', () => {
    expect(diskWriteProblem(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe('is full');
    expect(diskWriteProblem(Object.assign(new Error('x'), { code: 'EROFS' }))).toMatch(/read-only/);
    expect(diskWriteProblem(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(diskWriteProblem('text')).toBeUndefined();
  });
});
