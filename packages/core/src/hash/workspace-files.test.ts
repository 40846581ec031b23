import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listWorkspaceFiles } from './workspace-files.js';

function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'stride-files-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('listWorkspaceFiles', () => {
  it('honours root and nested .gitignore, .nxignore and always-skipped folders', async () => {
    const root = workspace({
      '.gitignore': 'dist\n*.log\n',
      '.nxignore': 'libs/b/generated\n',
      'libs/a/src/index.ts': '',
      'libs/a/dist/index.js': '',
      'libs/a/debug.log': '',
      'libs/a/.gitignore': 'local.txt\n',
      'libs/a/local.txt': '',
      'libs/b/generated/x.ts': '',
      'libs/b/src/y.ts': '',
      'node_modules/p/index.js': '',
      '.stride/cache/x': '',
    });
    expect(await listWorkspaceFiles(root)).toEqual(['.gitignore', '.nxignore', 'libs/a/.gitignore', 'libs/a/src/index.ts', 'libs/b/src/y.ts']);
  });
});
