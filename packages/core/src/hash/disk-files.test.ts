import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listDiskFiles } from './disk-files.js';

function workspace(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'stride-disk-'));
  for (const path of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), path);
  }
  return root;
}

describe('listDiskFiles', () => {
  const root = workspace([
    '.gitignore',
    'libs/a/gen/x.js',
    'libs/a/gen/sub/.hidden',
    'libs/a/gen/node_modules/p/index.js',
    'libs/a/inner/gen/y.js',
    'libs/a/src/index.ts',
    '.stride/cache/z',
    '.nx/cache/q',
    '.nx/other/kept',
  ]);

  it('finds ignored and dot files under the pattern base, skipping node_modules and caches', async () => {
    expect(await listDiskFiles(root, { include: ['libs/a/gen/**'], exclude: [] })).toEqual({ files: ['libs/a/gen/sub/.hidden', 'libs/a/gen/x.js'], missing: [] });
    expect((await listDiskFiles(root, { include: ['**/*'], exclude: [] })).files).toEqual([
      '.gitignore',
      '.nx/other/kept',
      'libs/a/gen/sub/.hidden',
      'libs/a/gen/x.js',
      'libs/a/inner/gen/y.js',
      'libs/a/src/index.ts',
    ]);
  });
  it('applies negations and leaves nested project roots out', async () => {
    expect((await listDiskFiles(root, { include: ['libs/a/**/*.js'], exclude: ['libs/a/gen/sub/**'], skip: ['libs/a/inner'] })).files).toEqual(['libs/a/gen/x.js']);
    expect((await listDiskFiles(root, { include: ['libs/a/**/*.js'], exclude: ['**/x.js'] })).files).toEqual(['libs/a/inner/gen/y.js']);
  });
  it('reports a plain path that does not exist, and takes a plain folder whole', async () => {
    expect(await listDiskFiles(root, { include: ['libs/a/gen/x.js', 'libs/a/gen/missing.js', 'libs/nope/**'], exclude: [] })).toEqual({
      files: ['libs/a/gen/x.js'],
      missing: ['libs/a/gen/missing.js'],
    });
    expect((await listDiskFiles(root, { include: ['libs/a/gen'], exclude: [] })).files).toEqual(['libs/a/gen/sub/.hidden', 'libs/a/gen/x.js']);
  });
});
