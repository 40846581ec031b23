import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateCopy, readRegularFileSync, regularFileSize } from './regular-file.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'stride-regular-'));

describe('regular files of a store folder', () => {
  it('refuses a FIFO at once instead of blocking in open(2), and a link at the last component', () => {
    const root = dir();
    execFileSync('mkfifo', [join(root, 'meta.json')]);
    expect(() => readRegularFileSync(join(root, 'meta.json'))).toThrow(/not a regular file/);
    expect(() => regularFileSize(join(root, 'meta.json'))).toThrow(/not a regular file/);
    writeFileSync(join(root, 'real'), 'x');
    symlinkSync(join(root, 'real'), join(root, 'link'));
    expect(() => readRegularFileSync(join(root, 'link'))).toThrow(/ELOOP|not a regular file/);
    expect(regularFileSize(join(root, 'missing'))).toBeUndefined();
    expect(readRegularFileSync(join(root, 'real')).toString()).toBe('x');
  });

  it('copies through one descriptor into a private folder, hashing what it copied; the copy outlives changes to the original', async () => {
    const root = dir();
    const original = join(root, 'outputs.tar');
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    writeFileSync(original, bytes);
    const copy = await privateCopy(original);
    writeFileSync(original, 'swapped');
    expect(copy.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(readFileSync(copy.file).equals(bytes)).toBe(true);
    expect(dirname(copy.file).startsWith(tmpdir())).toBe(true);
    await copy.remove();
    expect(existsSync(copy.file)).toBe(false);
  });
});
