import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkspace } from './support/workspace.js';

/**
 * Issue 21 with a published inferring plugin: `@nx/js/typescript` infers `build` and `typecheck` from each
 * library's tsconfig files (tsc --build, `dependentTasksOutputFiles` inputs, glob outputs), as in every workspace
 * `create-nx-workspace` makes. The registry these machines reach has the `@nx/*` plugins up to 23.3.1, so this
 * suite runs on Nx 23.3.1, the lowest Nx Stride supports (its peer range). Two copies of one workspace: one stays on
 * plain Nx, the other adopts Stride with `init --wrap=build,typecheck` exactly as the README says; the same edits
 * must re-run the same tasks and leave the same bytes.
 */
const NX_23 = '23.3.1';

function generate(root: string): void {
  const write = (path: string, content: unknown): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  };
  write('.gitignore', 'node_modules\n.nx\ndist\n.stride\n');
  write('package.json', { name: 'nx-js-ws', version: '0.0.0', private: true });
  write('nx.json', {
    neverConnectToCloud: true,
    useDaemonProcess: false,
    plugins: [{ plugin: '@nx/js/typescript', options: { typecheck: { targetName: 'typecheck' }, build: { targetName: 'build', configName: 'tsconfig.lib.json' } } }],
  });
  write('tsconfig.base.json', { compilerOptions: { composite: true, declaration: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: true } });
  write('tsconfig.json', { files: [], references: [{ path: './libs/a' }, { path: './libs/b' }] });
  for (const name of ['a', 'b']) {
    write(`libs/${name}/package.json`, {
      name: `@ws/${name}`,
      version: '0.0.0',
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      ...(name === 'b' ? { dependencies: { '@ws/a': '*' } } : {}),
    });
    write(`libs/${name}/tsconfig.json`, { extends: '../../tsconfig.base.json', files: [], references: [{ path: './tsconfig.lib.json' }] });
    write(`libs/${name}/tsconfig.lib.json`, { extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo' }, include: ['src/**/*.ts'] });
    write(`libs/${name}/src/index.ts`, `export const ${name} = 1;\n`);
  }
}

describe('a published inferring plugin (@nx/js/typescript, Nx 23.3.1): its targets on Stride, held against plain Nx', () => {
  let installDir: string;
  let stride: TestWorkspace;
  let plain: TestWorkspace;
  const outputs = ['libs/a/dist', 'libs/b/dist'];
  // What tsc emitted. Its .tsbuildinfo records the order the two targets of a library ran in (typecheck rebuilds the
  // references of build's config), which differs between runners even under plain Nx: compared only against the
  // same workspace's own build when restored.
  const emitted = (ws: TestWorkspace): Record<string, string> => Object.fromEntries(Object.entries(ws.digest(outputs)).filter(([path]) => !path.endsWith('.tsbuildinfo')));
  // What each run re-ran, from Nx's own task lines: a restored task carries "[local cache]" (or another cache tag).
  const ran = (ws: TestWorkspace, target = 'build,typecheck'): string[] => {
    const result = ws.nx(['run-many', '-t', target], { NX_CACHE_DIRECTORY: join(ws.root, '.nx', 'cache') });
    expect(result.code, result.output).toBe(0);
    return result.stdout
      .split('\n')
      .filter((line) => /^\s*✔\s+nx run /.test(line) && !/\[[a-z ]*cache\]/.test(line))
      .map((line) => line.replace(/^\s*✔\s+nx run\s+/, '').trim())
      .sort();
  };
  const make = (): TestWorkspace => {
    const root = mkdtempSync(join(tmpdir(), 'stride-e2e-nxjs-'));
    generate(root);
    symlinkSync(join(installDir, 'node_modules'), join(root, 'node_modules'));
    const ws = new TestWorkspace(root, { projects: ['a', 'b'], dependencies: { b: ['a'] } });
    ws.git(['init', '-q', '-b', 'main']);
    ws.git(['add', '-A']);
    ws.git(['commit', '-q', '-m', `initial (${root})`]);
    return ws;
  };

  beforeAll(() => {
    installDir = mkdtempSync(join(tmpdir(), 'stride-e2e-nx23-'));
    writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'stride-e2e-nx23', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '-D', `nx@${NX_23}`, `@nx/js@${NX_23}`, 'typescript@5.9.3', ...inject('tarballs')], { cwd: installDir, stdio: 'pipe' });
    plain = make();
    stride = make();
  });
  afterAll(() => {
    stride?.remove();
    plain?.remove();
    rmSync(installDir, { recursive: true, force: true });
  });

  it('init --wrap=build,typecheck wraps the plugin entry, and its inferred targets show on @stride/nx:run', () => {
    const init = stride.nx(['g', '@stride/nx:init', '--wrap=build,typecheck']);
    expect(init.code, init.output).toBe(0);
    expect(init.stdout).toContain("@nx/js/typescript's inferred build, typecheck run on Stride");
    const nxJson = JSON.parse(stride.read('nx.json')) as { plugins: Array<{ plugin: string; options: { plugin: string; targets: string[] } }> };
    expect(nxJson.plugins.map((p) => [p.plugin, p.options.plugin, p.options.targets])).toEqual([['@stride/nx/infer', '@nx/js/typescript', ['build', 'typecheck']]]);
    const shown = JSON.parse(stride.nx(['show', 'project', '@ws/b', '--json']).stdout) as { targets: Record<string, { executor: string; options: { executor: string; options: { command: string } } }> };
    expect(shown.targets.build?.executor).toBe('@stride/nx:run');
    expect(shown.targets.build?.options.options.command).toBe('tsc --build tsconfig.lib.json');
    stride.git(['add', '-A']);
    stride.git(['commit', '-q', '-m', 'stride init']);
  });

  it('cold: the same tasks run, through Stride, and write the same bytes as plain Nx', () => {
    const byNx = ran(plain);
    expect(byNx).toEqual(['@ws/a:build', '@ws/a:typecheck', '@ws/b:build', '@ws/b:typecheck']);
    expect(ran(stride)).toEqual(byNx);
    expect(stride.lastRun().tasks.map((t) => t.id).sort()).toEqual(byNx);
    expect(emitted(stride)).toEqual(emitted(plain));
    expect(Object.keys(stride.digest(outputs))).toEqual(Object.keys(plain.digest(outputs)));
  });

  it('fully cached runs nothing in either; with dist deleted the outputs come back byte for byte', () => {
    expect(ran(plain)).toEqual([]);
    expect(ran(stride)).toEqual([]);
    const built = { plain: emitted(plain), stride: emitted(stride), files: Object.keys(stride.digest(outputs)) };
    for (const ws of [plain, stride]) for (const out of outputs) rmSync(join(ws.root, out), { recursive: true, force: true });
    expect(ran(plain, 'build')).toEqual([]);
    expect(ran(stride, 'build')).toEqual([]);
    // Every file back, what tsc emitted byte for byte (the .tsbuildinfo comes back as build left it, before typecheck).
    expect(emitted(stride)).toEqual(built.stride);
    expect(emitted(plain)).toEqual(built.plain);
    expect(Object.keys(stride.digest(outputs))).toEqual(built.files);
    expect(Object.keys(stride.digest(outputs))).toEqual(Object.keys(plain.digest(outputs)));
  });

  it('a source edit re-runs what plain Nx re-runs, to the same bytes', () => {
    for (const ws of [plain, stride]) ws.write('libs/a/src/index.ts', 'export const a = 2;\n');
    const byNx = ran(plain);
    expect(byNx).toContain('@ws/a:build');
    expect(ran(stride)).toEqual(byNx);
    expect(emitted(stride)).toEqual(emitted(plain));
  });

  it('tsconfig.base.json changed: every task re-runs in both', () => {
    for (const ws of [plain, stride]) ws.updateJson<{ compilerOptions: Record<string, unknown> }>('tsconfig.base.json', (t) => ({ ...t, compilerOptions: { ...t.compilerOptions, target: 'es2021' } }));
    const byNx = ran(plain);
    expect(byNx).toEqual(['@ws/a:build', '@ws/a:typecheck', '@ws/b:build', '@ws/b:typecheck']);
    expect(ran(stride)).toEqual(byNx);
    expect(emitted(stride)).toEqual(emitted(plain));
  });
});
