import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 21: every target `init --wrap` takes over runs exactly as it did under
 * Nx: the same working directory (the workspace root for nx:run-commands),
 * `{args.x}` interpolation, package.json scripts, partial targets whose
 * executor comes from targetDefaults, and `{options.outputPath}` outputs. The
 * workspace runs under plain Nx first; after init the same commands must
 * write the same files.
 */
const WRITE = `import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [out, ...rest] = process.argv.slice(2);
mkdirSync(join(process.cwd(), out), { recursive: true });
writeFileSync(join(process.cwd(), out, 'made.txt'), JSON.stringify({ cwd: process.cwd().endsWith(process.env.NX_WORKSPACE_ROOT ?? '') ? 'root' : process.cwd(), args: rest, target: process.env.NX_TASK_TARGET_TARGET }));
`;

function generate(root: string): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  write('.gitignore', 'node_modules\n.nx\n.stride\ndist\n');
  write('package.json', '{ "name": "init-ws", "version": "0.0.0", "private": true, "workspaces": ["libs/*"] }\n');
  write('tools/write.mjs', WRITE);
  write(
    'nx.json',
    `${JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false, targetDefaults: { test: { executor: 'nx:run-commands', options: { command: 'node tools/write.mjs dist/libs/a/test' }, cache: true } } }, null, 2)}\n`,
  );
  // a: run-commands in the workspace root (no cwd), with {args.flavour}; a partial test target; an {options.outputPath} output.
  write(
    'libs/a/project.json',
    `${JSON.stringify(
      {
        name: 'a',
        root: 'libs/a',
        targets: {
          build: { executor: 'nx:run-commands', options: { command: 'node tools/write.mjs dist/libs/a/build {args.flavour}', outputPath: 'dist/libs/a/build', flavour: 'plain' }, outputs: ['{options.outputPath}'], cache: true },
          test: { options: { args: '--ci' } },
        },
      },
      null,
      2,
    )}\n`,
  );
  // b: a package.json project whose build is an npm script, run in its own folder.
  // Its package.json names the target for Nx (outputs) without an executor: the npm script is what runs.
  write('libs/b/package.json', `${JSON.stringify({ name: 'b', version: '0.0.0', scripts: { build: 'node ../../tools/write.mjs dist/script' }, nx: { targets: { build: { outputs: ['{projectRoot}/dist'] } } } }, null, 2)}\n`);
}

describe('init --wrap keeps every target running as it did under Nx', () => {
  let ws: TestWorkspace;
  const made = (path: string): unknown => JSON.parse(ws.read(`${path}/made.txt`)) as unknown;
  const runAll = (): void => {
    for (const args of [['run', 'a:build', '--flavour=fancy'], ['run', 'a:test'], ['run', 'b:build']]) {
      const result = ws.nx(args);
      expect(result.code, `${args.join(' ')}\n${result.output}`).toBe(0);
    }
  };
  const outputs = ['dist/libs/a/build', 'dist/libs/a/test', 'libs/b/dist/script'];
  let underNx: unknown[];

  beforeAll(() => {
    ws = createWorkspaceWith(generate);
  });
  afterAll(() => ws.remove());

  it('under plain Nx first', () => {
    runAll();
    underNx = outputs.map(made);
    expect(underNx[0]).toMatchObject({ cwd: 'root', target: 'build' });
    expect((underNx[0] as { args: string[] }).args[0]).toBe('fancy');
    expect(underNx[1]).toMatchObject({ target: 'test' });
    expect((underNx[1] as { args: string[] }).args).toContain('--ci');
    expect(underNx[2]).toMatchObject({ target: 'build' });
  });

  it('after init, the same commands write the same files, through Stride', () => {
    const init = ws.nx(['g', '@stride/nx:init', '--wrap=build,test', '--no-interactive']);
    expect(init.code, init.output).toBe(0);
    for (const path of ['dist', 'libs/b/dist']) rmSync(join(ws.root, path), { recursive: true, force: true });
    runAll();
    expect(outputs.map(made)).toEqual(underNx);
    const shown = JSON.parse(ws.nx(['show', 'project', 'a', '--json']).stdout) as { targets: Record<string, { executor: string; cache: boolean; outputs: string[]; options: Record<string, unknown> }> };
    // The default mode ("nx"): Nx's cache in front of the Stride target.
    expect(shown.targets['build']).toMatchObject({ executor: '@stride/nx:run', cache: true, outputs: ['{options.options.outputPath}'] });
    expect(shown.targets['test']).toMatchObject({ executor: '@stride/nx:run', options: { executor: 'nx:run-commands' } });
    const b = JSON.parse(ws.nx(['show', 'project', 'b', '--json']).stdout) as { targets: Record<string, { executor: string; options: Record<string, unknown> }> };
    expect(b.targets['build']).toMatchObject({ executor: '@stride/nx:run', options: { executor: 'nx:run-script', options: { script: 'build' } } });
  });

  it('the {options.outputPath} output is cached and restored', () => {
    rmSync(join(ws.root, 'dist/libs/a/build'), { recursive: true, force: true });
    const result = ws.nx(['run', 'a:build', '--flavour=fancy']);
    expect(result.code, result.output).toBe(0);
    // Restored by Nx's cache in front (the default mode), from what the batch built: the output path was stored.
    expect(result.output).toMatch(/nx run a:build --flavour=fancy\s+\[local cache\]/);
    expect(made('dist/libs/a/build')).toEqual(underNx[0]);
  });
});
