import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { assertArchiveSafe } from './archive.js';
import { LocalStore } from './local-store.js';
import { existingOutputPaths } from './output-paths.js';
import { strayWrites } from './stray-writes.js';

/**
 * Negated outputs (`!pattern`) as Nx 24 reads them: they take paths out of what the plain outputs select and
 * select nothing themselves. The expected lists are what Nx 24.0.6's own `expandOutputs` answered on this tree.
 */
function tree(absoluteLink = true): string {
  const root = mkdtempSync(join(tmpdir(), 'stride-negated-'));
  const files = [
    'root.txt',
    'libs/a/README.md',
    'libs/a/src/i.ts',
    'libs/a/tsconfig.tsbuildinfo',
    'libs/a/tmp/t.js',
    'libs/a/dist/i.js',
    'libs/a/dist/i.js.map',
    'libs/a/dist/x.tsbuildinfo',
    'libs/a/dist/sub/s.js',
    'libs/a/dist/tmp/t.js',
    'libs/a/dist/tmp-not',
    'libs/a/dist/.h',
  ];
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), `${file}\n`);
  }
  if (absoluteLink) symlinkSync('/etc', join(root, 'libs/a/dist/abslink'));
  return root;
}

const DIST = ['libs/a/dist/.h', 'libs/a/dist/abslink', 'libs/a/dist/i.js', 'libs/a/dist/i.js.map', 'libs/a/dist/sub/s.js', 'libs/a/dist/tmp-not', 'libs/a/dist/tmp/t.js', 'libs/a/dist/x.tsbuildinfo'];
const without = (...gone: string[]): string[] => DIST.filter((path) => !gone.includes(path));

describe('negated outputs select what Nx selects', () => {
  it.each([
    { outputs: ['libs/a/dist', '!libs/a/**/*.tsbuildinfo'], expected: without('libs/a/dist/x.tsbuildinfo') },
    { outputs: ['libs/a/dist', '!libs/a/dist/**/*.map'], expected: without('libs/a/dist/i.js.map') },
    { outputs: ['libs/a/dist', '!**/*.map'], expected: without('libs/a/dist/i.js.map') },
    { outputs: ['libs/a/dist', '!libs/a/dist/tmp'], expected: without('libs/a/dist/tmp/t.js') },
    { outputs: ['libs/a/dist', '!libs/a/dist/tmp/'], expected: without('libs/a/dist/tmp/t.js') },
    { outputs: ['libs/a/dist', '!libs/a/dist/tmp/**'], expected: without('libs/a/dist/tmp/t.js') },
    { outputs: ['libs/a/dist', '!libs/a/dist/t*'], expected: without('libs/a/dist/tmp/t.js', 'libs/a/dist/tmp-not') },
    { outputs: ['libs/a/dist', '!libs/a/dist/*.js'], expected: without('libs/a/dist/i.js') },
    { outputs: ['libs/a/**/*.js', '!libs/a/dist/sub/**'], expected: ['libs/a/dist/i.js', 'libs/a/dist/tmp/t.js', 'libs/a/tmp/t.js'] },
    { outputs: ['libs/a/dist', 'libs/a/src/i.ts', '!libs/a/src'], expected: DIST },
    { outputs: ['libs/a/dist', '!'], expected: ['libs/a/dist'] },
  ])('$outputs', async ({ outputs, expected }) => {
    expect(await existingOutputPaths(tree(), outputs)).toEqual(expected);
  });

  it('selects nothing with negations alone (Nx would take the whole workspace), and refuses to store them', async () => {
    const root = tree();
    expect(await existingOutputPaths(root, ['!libs/a/**/*.ts'])).toEqual([]);
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    await expect(store.save({ hash: 'ab12', taskId: 'a:build', durationMs: 1, outputs: ['!libs/a/**/*.ts'], terminalOutput: '' })).rejects.toThrow(
      /outputs \["!libs\/a\/\*\*\/\*\.ts"\] are only negated patterns[\s\S]*fix: list what the task writes first/,
    );
  });

  it('without negations, a folder output stays one path (archived whole, empty folders too)', async () => {
    expect(await existingOutputPaths(tree(), ['libs/a/dist'])).toEqual(['libs/a/dist']);
  });
});

describe('a restore with negated outputs touches only what they select', () => {
  const outputs = ['libs/a/dist', '!libs/a/dist/**/*.map', '!libs/a/dist/tmp'];

  it('neither archives nor clears excluded files, nor anything next to the outputs', async () => {
    const root = tree(false);
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    const meta = await store.save({ hash: 'cd34', taskId: 'a:build', durationMs: 1, outputs, terminalOutput: 'built\n' });
    const entries: string[] = [];
    tar.t({ file: join(store.entryDir(meta.hash), 'outputs.tar'), sync: true, onReadEntry: (entry) => entries.push(entry.path) });
    expect(entries.sort()).toEqual(without('libs/a/dist/abslink', 'libs/a/dist/i.js.map', 'libs/a/dist/tmp/t.js'));

    writeFileSync(join(root, 'libs/a/src/i.ts'), 'uncommitted edit\n');
    writeFileSync(join(root, 'libs/a/src/new.ts'), 'untracked\n');
    writeFileSync(join(root, 'libs/a/dist/i.js.map'), 'newer map\n');
    writeFileSync(join(root, 'libs/a/dist/tmp/t.js'), 'newer tmp\n');
    writeFileSync(join(root, 'libs/a/dist/i.js'), 'stale\n');
    writeFileSync(join(root, 'libs/a/dist/stale.js'), 'stale\n');
    await store.restore(meta, outputs);

    expect(readFileSync(join(root, 'libs/a/src/i.ts'), 'utf8')).toBe('uncommitted edit\n');
    expect(readFileSync(join(root, 'libs/a/src/new.ts'), 'utf8')).toBe('untracked\n');
    expect(readFileSync(join(root, 'libs/a/dist/i.js.map'), 'utf8')).toBe('newer map\n');
    expect(readFileSync(join(root, 'libs/a/dist/tmp/t.js'), 'utf8')).toBe('newer tmp\n');
    expect(readFileSync(join(root, 'libs/a/dist/i.js'), 'utf8')).toBe('libs/a/dist/i.js\n');
    expect(existsSync(join(root, 'libs/a/dist/stale.js'))).toBe(false);
  });

  it('creates missing folders with ordinary permissions, never world-writable', async () => {
    const root = tree(false);
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    const meta = await store.save({ hash: 'ef56', taskId: 'a:build', durationMs: 1, outputs, terminalOutput: '' });
    rmSync(join(root, 'libs/a/dist'), { recursive: true });
    await store.restore(meta, outputs);
    expect(readFileSync(join(root, 'libs/a/dist/sub/s.js'), 'utf8')).toBe('libs/a/dist/sub/s.js\n');
    expect(statSync(join(root, 'libs/a/dist/sub')).mode & 0o022).toBe(0);
  });

  it('refuses an archive that writes a path a negation excludes', async () => {
    const root = tree();
    const archive = join(root, 'crafted.tar');
    await tar.c({ cwd: root, file: archive }, ['libs/a/dist/i.js', 'libs/a/dist/i.js.map']);
    await expect(assertArchiveSafe(archive, outputs, root)).rejects.toThrow(/libs\/a\/dist\/i\.js\.map: excluded by a negated output/);
    await expect(assertArchiveSafe(archive, ['libs/a/dist'], root)).resolves.toBeUndefined();
  });

  it('does not report excluded files as writes outside the outputs, and reports the rest of the project', async () => {
    const root = tree();
    const found = await strayWrites(root, 'libs/a', 0, ['libs/a/dist', '!libs/a/**/*.tsbuildinfo', '!libs/a/tmp']);
    expect(found).toEqual(['libs/a/README.md', 'libs/a/src/i.ts']);
  });
});
