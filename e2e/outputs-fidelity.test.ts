import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 19, item 1: negated outputs, held against Nx's own cache on the same workspace. A cache touches only
 * what the task's outputs select: an uncommitted edit or an untracked file next to the outputs survives every
 * restore, and files a negation excludes (`.map`, `tmp/`, `.tsbuildinfo`) are neither cached nor deleted.
 * Item 8: absolute symlinks in outputs (Nx issue 34013) are cached and restored as the links they were, and
 * nothing behind them is touched.
 * Each workspace counts real executions in build-log.txt; Nx gets its own cache folder.
 */
const BUILD = `import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
const project = process.env.NX_TASK_TARGET_PROJECT;
appendFileSync('../../build-log.txt', project + '\\n');
const source = readFileSync('src/index.js', 'utf8');
const write = (path, text) => { mkdirSync(path.split('/').slice(0, -1).join('/') || '.', { recursive: true }); writeFileSync(path, text); };
if (project === 'a') {
  write('dist/index.js', '// built\\n' + source);
  // Over 1 MiB in all, so Stride's archive is a large one (checked in one read, unpacked by store/unpack.ts).
  write('dist/big.txt', (source + '\\n').repeat(60000));
  write('dist/index.js.map', '{"built":true}');
  write('dist/tmp/scratch.txt', 'built scratch');
  write('dist/lib.tsbuildinfo', 'built info');
  write('tsconfig.tsbuildinfo', 'built root info');
} else if (project === 'c') {
  const outside = readFileSync('../../tools/link-target.txt', 'utf8');
  write('dist/index.js', '// built\\n' + source);
  symlinkSync(outside, 'dist/abs');
  symlinkSync(outside + '/keep.txt', 'dist/absfile');
} else {
  write('out/main.js', '// built\\n' + source);
  write('out/vendor/v.js', 'built vendor');
  write('out/notes.txt', 'built notes');
}
`;

const OUTPUTS: Record<string, string[]> = {
  a: ['{projectRoot}/dist', '!{projectRoot}/**/*.tsbuildinfo', '!{projectRoot}/dist/**/*.map', '!{projectRoot}/dist/tmp'],
  // A glob with a negation: only .js files, and none under vendor.
  b: ['{projectRoot}/out/**/*.js', '!{projectRoot}/out/vendor'],
  // Absolute links to a folder outside the workspace, to a folder and to a file.
  c: ['{projectRoot}/dist'],
};

function generate(root: string, flavour: 'stride' | 'nx', outside: string): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const stride = flavour === 'stride';
  write('.gitignore', 'node_modules\ndist\nout\n*.tsbuildinfo\n.nx\n.stride\nbuild-log.txt\n');
  write('package.json', `${JSON.stringify({ name: 'outputs-ws', version: '0.0.0', private: true }, null, 2)}\n`);
  write('tools/build.mjs', BUILD);
  write('tools/link-target.txt', outside);
  write(
    'nx.json',
    `${JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false, ...(stride ? { plugins: ['@stride/nx'] } : {}) }, null, 2)}\n`,
  );
  for (const name of ['a', 'b', 'c']) {
    const build = {
      ...(stride
        ? { executor: '@stride/nx:run', options: { command: 'node ../../tools/build.mjs' }, cache: false }
        : { executor: 'nx:run-commands', options: { command: 'node ../../tools/build.mjs', cwd: `libs/${name}` }, cache: true }),
      // Only src is an input, so the README, notes and everything else next to the outputs can change without a miss.
      inputs: ['{projectRoot}/src/**/*'],
      outputs: OUTPUTS[name],
    };
    write(`libs/${name}/project.json`, `${JSON.stringify({ name, root: `libs/${name}`, targets: { build } }, null, 2)}\n`);
    write(`libs/${name}/src/index.js`, `export const ${name} = 1;\n`);
    write(`libs/${name}/README.md`, `# ${name}\n`);
  }
}

/** Every file the test looks at, by path, with its text (or absent): the bytes on disk, compared across both workspaces. */
const WATCHED = [
  'libs/a/README.md',
  'libs/a/notes.txt',
  'libs/a/src/index.js',
  'libs/a/dist/index.js',
  'libs/a/dist/big.txt',
  'libs/a/dist/index.js.map',
  'libs/a/dist/tmp/scratch.txt',
  'libs/a/dist/lib.tsbuildinfo',
  'libs/a/tsconfig.tsbuildinfo',
  'libs/b/README.md',
  'libs/b/out/main.js',
  'libs/b/out/vendor/v.js',
  'libs/b/out/notes.txt',
  'libs/c/dist/index.js',
];
const LINKS = ['libs/c/dist/abs', 'libs/c/dist/absfile'];

function snapshot(ws: TestWorkspace): Record<string, string | null> {
  const files = WATCHED.map((path) => [path, existsSync(join(ws.root, path)) ? ws.read(path) : null]);
  const links = LINKS.map((path) => [path, lstatSync(join(ws.root, path), { throwIfNoEntry: false })?.isSymbolicLink() ? `-> ${readlinkSync(join(ws.root, path))}` : null]);
  return Object.fromEntries([...files, ...links]);
}

describe('outputs fidelity: negated outputs restore exactly what Nx restores, and nothing else is touched', () => {
  let stride: TestWorkspace;
  let nx: TestWorkspace;
  /** Where project c's absolute links point: outside both workspaces, and never written. */
  let outside: string;
  const outsideUntouched = (): void => {
    expect(readdirSync(outside)).toEqual(['keep.txt']);
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('outside\n');
  };

  const run = (ws: TestWorkspace): string[] => {
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: join(ws.root, '.nx', 'cache') });
    expect(result.code, result.output).toBe(0);
    return ws.buildLog().slice(before).sort();
  };
  /** Applies a change to both workspaces, runs both, and holds Stride to Nx: same executions, same bytes. */
  const step = (change: (ws: TestWorkspace) => void): { ran: string[]; files: Record<string, string | null> } => {
    change(nx);
    change(stride);
    const byNx = run(nx);
    const byStride = run(stride);
    expect(byStride, 'Stride ran other tasks than Nx').toEqual(byNx);
    const files = snapshot(nx);
    expect(snapshot(stride), 'the files on disk differ from what Nx left').toEqual(files);
    outsideUntouched();
    return { ran: byNx, files };
  };

  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'stride-outputs-outside-'));
    writeFileSync(join(outside, 'keep.txt'), 'outside\n');
    stride = createWorkspaceWith((root) => generate(root, 'stride', outside));
    nx = createWorkspaceWith((root) => generate(root, 'nx', outside));
  });
  afterAll(() => {
    stride.remove();
    nx.remove();
    rmSync(outside, { recursive: true, force: true });
  });

  it('cold: both run every task', () => {
    expect(step(() => undefined).ran).toEqual(['a', 'b', 'c']);
  });

  it('a hit after deleting one output keeps an uncommitted edit, an untracked file and every excluded file as they are', () => {
    const { ran, files } = step((ws) => {
      ws.write('libs/a/README.md', '# a, edited and not committed\n');
      ws.write('libs/a/notes.txt', 'untracked\n');
      ws.write('libs/a/dist/index.js.map', 'local map');
      ws.write('libs/a/dist/tmp/scratch.txt', 'local scratch');
      ws.write('libs/a/dist/lib.tsbuildinfo', 'local info');
      ws.write('libs/a/tsconfig.tsbuildinfo', 'local root info');
      rmSync(join(ws.root, 'libs/a/dist/index.js'));
      ws.write('libs/b/README.md', '# b, edited\n');
      ws.write('libs/b/out/vendor/v.js', 'local vendor');
      ws.write('libs/b/out/notes.txt', 'local notes');
      rmSync(join(ws.root, 'libs/b/out/main.js'));
    });
    expect(ran).toEqual([]);
    expect(files).toMatchObject({
      'libs/a/README.md': '# a, edited and not committed\n',
      'libs/a/notes.txt': 'untracked\n',
      'libs/a/dist/index.js': '// built\nexport const a = 1;\n',
      'libs/a/dist/index.js.map': 'local map',
      'libs/a/dist/tmp/scratch.txt': 'local scratch',
      'libs/a/dist/lib.tsbuildinfo': 'local info',
      'libs/a/tsconfig.tsbuildinfo': 'local root info',
      'libs/b/README.md': '# b, edited\n',
      'libs/b/out/main.js': '// built\nexport const b = 1;\n',
      'libs/b/out/vendor/v.js': 'local vendor',
      'libs/b/out/notes.txt': 'local notes',
    });
  });

  it('a hit with the outputs gone restores only what the outputs select (excluded files were never cached), and absolute links as links', () => {
    const { ran, files } = step((ws) => {
      rmSync(join(ws.root, 'libs/a/dist'), { recursive: true });
      rmSync(join(ws.root, 'libs/a/tsconfig.tsbuildinfo'));
      rmSync(join(ws.root, 'libs/b/out'), { recursive: true });
      rmSync(join(ws.root, 'libs/c/dist'), { recursive: true });
      ws.write('libs/a/notes.txt', 'untracked, changed again\n');
    });
    expect(ran).toEqual([]);
    expect(files).toMatchObject({
      'libs/a/README.md': '# a, edited and not committed\n',
      'libs/a/notes.txt': 'untracked, changed again\n',
      'libs/a/dist/index.js': '// built\nexport const a = 1;\n',
      'libs/a/dist/index.js.map': null,
      'libs/a/dist/tmp/scratch.txt': null,
      'libs/a/dist/lib.tsbuildinfo': null,
      'libs/a/tsconfig.tsbuildinfo': null,
      'libs/b/out/main.js': '// built\nexport const b = 1;\n',
      'libs/b/out/vendor/v.js': null,
      'libs/b/out/notes.txt': null,
      'libs/c/dist/index.js': '// built\nexport const c = 1;\n',
      'libs/c/dist/abs': `-> ${outside}`,
      'libs/c/dist/absfile': `-> ${outside}/keep.txt`,
    });
  });

  it('a source edit runs again; undoing it is a hit that still leaves the untracked files and edits alone', () => {
    expect(step((ws) => ws.write('libs/a/src/index.js', 'export const a = 2;\n')).ran).toEqual(['a']);
    const { ran, files } = step((ws) => ws.write('libs/a/src/index.js', 'export const a = 1;\n'));
    expect(ran).toEqual([]);
    expect(files).toMatchObject({
      'libs/a/README.md': '# a, edited and not committed\n',
      'libs/a/notes.txt': 'untracked, changed again\n',
      'libs/a/dist/index.js': '// built\nexport const a = 1;\n',
      // The rebuild wrote these; the restore after it leaves them, since they are not the task's to replace.
      'libs/a/dist/index.js.map': '{"built":true}',
      'libs/a/dist/tmp/scratch.txt': 'built scratch',
    });
  });

  it('Stride only: outputs made of negations alone are not stored (Nx would take the whole workspace), with a warning naming them', () => {
    stride.updateJson<{ targets: { build: { outputs: string[] } } }>('libs/b/project.json', (p) => {
      p.targets.build.outputs = ['!{projectRoot}/out/vendor'];
      return p;
    });
    for (let i = 0; i < 2; i++) {
      const before = stride.buildLog().length;
      const result = stride.nx(['run-many', '-t', 'build']);
      expect(result.code, result.output).toBe(0);
      expect(stride.buildLog().slice(before)).toEqual(['b']);
      expect(result.output).toMatch(/b:build: could not store the result in the local store: its outputs \["!libs\/b\/out\/vendor"\] are only negated patterns, which select no files[^\n]*fix: list what the task writes first/);
    }
    expect(stride.read('libs/b/README.md')).toBe('# b, edited\n');
    stride.git(['checkout', '-q', '--', 'libs/b/project.json']);
  });

  it('the project folders keep every file the user made, committed or not', () => {
    for (const ws of [stride, nx]) {
      const status = ws.git(['status', '--porcelain']).stdout.split('\n').filter(Boolean).sort();
      expect(status).toEqual([' M libs/a/README.md', ' M libs/b/README.md', '?? libs/a/notes.txt']);
    }
  });
});
