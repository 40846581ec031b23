import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 21: targets an Nx plugin infers (nothing about them is written in project.json) run on Stride after
 * `init --wrap`, and stay inferred: the plugin's nx.json entry is wrapped in `@stride/nx/infer`, so a change to what
 * the plugin reads changes the target on the next run. The plugin here is a real createNodes plugin of the
 * workspace's own (what teams write, and what every @nx/* inferring plugin is), loaded by Nx's own plugin loader.
 * The same workspace runs under plain Nx first: after init the same commands write the same bytes.
 */
const PLUGIN = `const { dirname, join } = require('node:path');
const { readFileSync } = require('node:fs');
exports.createNodes = ['**/build.json', async (files, options, context) => files.map((file) => {
  const root = dirname(file);
  const spec = JSON.parse(readFileSync(join(context.workspaceRoot, file), 'utf8'));
  const flags = spec.flags ? ' ' + spec.flags : '';
  return [file, { projects: { [root]: { name: spec.name, implicitDependencies: spec.deps ?? [], targets: {
    [options.buildTarget]: { command: 'node ../../tools/build.cjs ' + spec.name + flags, options: { cwd: root }, cache: true, inputs: ['{projectRoot}/**/*', '^{projectRoot}/**/*'], outputs: ['{projectRoot}/dist'], dependsOn: ['^' + options.buildTarget], metadata: { description: 'inferred from build.json' } },
    serve: { command: 'node -e "setInterval(() => {}, 1000)"', continuous: true },
  } } } }];
})];
`;

const BUILD = `const { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const [name, ...args] = process.argv.slice(2);
mkdirSync('dist', { recursive: true });
const sources = readdirSync('src').sort().map((f) => f + '=' + readFileSync(join('src', f), 'utf8')).join('\\n');
writeFileSync('dist/out.txt', JSON.stringify({ name, args, cwd: process.cwd().slice(process.env.NX_WORKSPACE_ROOT.length), sources }) + '\\n');
appendFileSync(join(process.env.NX_WORKSPACE_ROOT, 'build-log.txt'), name + '\\n');
`;

const PLUGIN_ENTRY = { plugin: './tools/infer-plugin.cjs', options: { buildTarget: 'build' } };

function generate(root: string): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  write('.gitignore', 'node_modules\n.nx\n.stride\ndist\nbuild-log.txt\n');
  write('package.json', '{ "name": "inferred-ws", "version": "0.0.0", "private": true }\n');
  write('nx.json', `${JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false, plugins: [PLUGIN_ENTRY] }, null, 2)}\n`);
  write('tools/infer-plugin.cjs', PLUGIN);
  write('tools/build.cjs', BUILD);
  write('libs/a/build.json', '{ "name": "a" }\n');
  write('libs/a/src/a.txt', 'a1\n');
  write('libs/b/build.json', '{ "name": "b", "deps": ["a"] }\n');
  write('libs/b/src/b.txt', 'b1\n');
  // c refines its inferred build in project.json with an option only (no executor): Nx merges it onto the inferred one.
  write('libs/c/build.json', '{ "name": "c", "deps": ["b"] }\n');
  write('libs/c/src/c.txt', 'c1\n');
  write('libs/c/project.json', `${JSON.stringify({ name: 'c', targets: { build: { options: { flavour: 'mint' } } } }, null, 2)}\n`);
}

interface ShownTarget {
  executor: string;
  options: Record<string, unknown>;
  continuous?: boolean;
}

describe('inferred targets on Stride: init wraps the plugin, the targets stay live', () => {
  let ws: TestWorkspace;
  let underNx: Record<string, string>;
  let nxCache = 0;
  const outputs = ['libs/a/dist', 'libs/b/dist', 'libs/c/dist'];
  // Each phase its own Nx cache: what plain Nx cached must not serve Stride's targets, nor the reverse.
  const env = (): NodeJS.ProcessEnv => ({ NX_CACHE_DIRECTORY: join(ws.root, '.nx', `cache-${nxCache}`) });
  const build = (): string => {
    const result = ws.nx(['run-many', '-t', 'build'], env());
    expect(result.code, result.output).toBe(0);
    return result.stdout;
  };
  const shown = (project: string): Record<string, ShownTarget> => {
    const result = ws.nx(['show', 'project', project, '--json'], env());
    expect(result.code, result.output).toBe(0);
    return (JSON.parse(result.stdout) as { targets: Record<string, ShownTarget> }).targets;
  };
  const clean = (): void => {
    ws.exec('rm', ['-rf', ...outputs.map((p) => join(ws.root, p)), join(ws.root, 'build-log.txt')]);
  };

  beforeAll(() => {
    ws = createWorkspaceWith(generate);
  });
  afterAll(() => ws.remove());

  it('under plain Nx: the plugin infers the targets, c\'s option reaches the command as a flag', () => {
    build();
    expect(ws.buildLog()).toEqual(['a', 'b', 'c']);
    expect(JSON.parse(ws.read('libs/c/dist/out.txt'))).toMatchObject({ name: 'c', args: ['--flavour=mint'], cwd: '/libs/c' });
    underNx = ws.digest(outputs);
    clean();
  });

  it('init --wrap=build wraps the plugin entry in nx.json and writes no target out', () => {
    nxCache++;
    const projectJsonBefore = ws.read('libs/c/project.json');
    const init = ws.nx(['g', '@stride/nx:init', '--wrap=build'], env());
    expect(init.code, init.output).toBe(0);
    expect(init.stdout).toContain(`./tools/infer-plugin.cjs's inferred build run on Stride`);
    const nxJson = JSON.parse(ws.read('nx.json')) as { plugins: unknown[]; targetDefaults: Record<string, { cache?: boolean }> };
    expect(nxJson.plugins).toEqual([{ plugin: '@stride/nx/infer', options: { plugin: './tools/infer-plugin.cjs', options: { buildTarget: 'build' }, targets: ['build'] } }]);
    expect(nxJson.targetDefaults.build?.cache).toBe(true);
    expect(ws.read('libs/c/project.json')).toBe(projectJsonBefore);
    expect(ws.exec('ls', [join(ws.root, 'libs/a')]).stdout.split('\n').filter(Boolean).sort()).toEqual(['build.json', 'src']);

    const targets = shown('a');
    expect(targets.build?.executor).toBe('@stride/nx:run');
    expect(targets.build?.options).toEqual({ executor: 'nx:run-commands', options: { command: 'node ../../tools/build.cjs a', cwd: 'libs/a' } });
    // A continuous target is left to Nx; a target not listed is passed through as the plugin made it.
    expect(targets.serve?.executor).toBe('nx:run-commands');
    // Running it again changes nothing.
    const nxJsonText = ws.read('nx.json');
    const again = ws.nx(['g', '@stride/nx:init', '--wrap=build'], env());
    expect(again.code, again.output).toBe(0);
    expect(ws.read('nx.json')).toBe(nxJsonText);
    ws.git(['add', '-A']);
    ws.git(['commit', '-q', '-m', 'stride init']);
  });

  it('the cold run goes through Stride and writes the same bytes as plain Nx, c\'s option included', () => {
    build();
    expect(ws.buildLog()).toEqual(['a', 'b', 'c']);
    expect(ws.lastRun().tasks.map((t) => t.id).sort()).toEqual(['a:build', 'b:build', 'c:build']);
    expect(ws.digest(outputs)).toEqual(underNx);
  });

  it('a fully cached run runs nothing; with the outputs deleted they come back byte for byte', () => {
    build();
    expect(ws.buildLog()).toEqual(['a', 'b', 'c']);
    clean();
    build();
    expect(ws.buildLog()).toEqual([]);
    expect(ws.digest(outputs)).toEqual(underNx);
  });

  it('the target stays live: a change to what the plugin reads changes the command on the next run', () => {
    ws.write('libs/b/build.json', '{ "name": "b", "deps": ["a"], "flags": "--fast" }\n');
    build();
    // b's own command changed (and its file set: build.json is in it); c reads b's files through ^: both re-run.
    expect(ws.buildLog()).toEqual(['b', 'c']);
    expect(JSON.parse(ws.read('libs/b/dist/out.txt'))).toMatchObject({ name: 'b', args: ['--fast'] });
    expect(shown('b').build?.options).toEqual({ executor: 'nx:run-commands', options: { command: 'node ../../tools/build.cjs b --fast', cwd: 'libs/b' } });
    // nx affected and nx graph see the inferred targets as Nx users know them: b changed (uncommitted), c depends on it.
    const affected = ws.nx(['show', 'projects', '--affected', '--base=HEAD', '--withTarget=build'], env());
    expect(affected.code, affected.output).toBe(0);
    expect(affected.stdout.split('\n').filter(Boolean).sort()).toEqual(['b', 'c']);
    const graph = ws.nx(['graph', '--file=graph.json'], env());
    expect(graph.code, graph.output).toBe(0);
    const nodes = (JSON.parse(ws.read('graph.json')) as { graph: { nodes: Record<string, { data: { targets: Record<string, ShownTarget> } }> } }).graph.nodes;
    expect(nodes['c']?.data.targets.build?.executor).toBe('@stride/nx:run');
    ws.exec('rm', [join(ws.root, 'graph.json')]);
  });

  it('init --remove gives nx.json its plugin entry back, and plain Nx runs the targets again', () => {
    const removed = ws.nx(['g', '@stride/nx:init', '--remove'], env());
    expect(removed.code, removed.output).toBe(0);
    const nxJson = JSON.parse(ws.read('nx.json')) as { plugins: unknown[] };
    expect(nxJson.plugins).toEqual([PLUGIN_ENTRY]);
    expect(shown('a').build?.executor).toBe('nx:run-commands');
    ws.write('libs/b/build.json', '{ "name": "b", "deps": ["a"] }\n');
    nxCache++;
    clean();
    const before = ws.read('.stride/runs/last.json');
    build();
    expect(ws.buildLog()).toEqual(['a', 'b', 'c']);
    expect(ws.digest(outputs)).toEqual(underNx);
    expect(ws.read('.stride/runs/last.json')).toBe(before);
  });
});
