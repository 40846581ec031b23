import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NxJsonConfiguration, ProjectGraph, TargetConfiguration, TaskGraph } from '@nx/devkit';
import { FileHasher, FileIndex, listWorkspaceFiles } from '@stride/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { NxTaskHasher } from './task-hasher.js';

/**
 * A three-project workspace on disk (b depends on a; c is tagged), hashed
 * after each change: every case asserts that a change Nx 24 hashes moves the
 * hash, and one it does not leaves it.
 */
interface Fixture {
  root: string;
  graph: ProjectGraph;
  nxJson: NxJsonConfiguration;
  cwd: string;
}

let fx: Fixture;

function write(path: string, content: string): void {
  mkdirSync(dirname(join(fx.root, path)), { recursive: true });
  writeFileSync(join(fx.root, path), content);
}

function target(inputs?: TargetConfiguration['inputs'], extra: Partial<TargetConfiguration> = {}): TargetConfiguration {
  return { executor: '@stride/nx:run', options: { command: 'node build.mjs' }, outputs: ['{projectRoot}/dist'], ...(inputs ? { inputs } : {}), ...extra };
}

function project(name: string, root: string, targets: Record<string, TargetConfiguration>, tags: string[] = []): ProjectGraph['nodes'][string] {
  return { name, type: 'lib', data: { root, tags, targets } };
}

beforeEach(() => {
  const root = mkdtempSync(join(tmpdir(), 'stride-task-hasher-'));
  fx = {
    root,
    cwd: root,
    nxJson: { namedInputs: { default: ['{projectRoot}/**/*'], prod: ['!{projectRoot}/**/*.spec.ts'] } },
    graph: {
      nodes: {
        a: project('a', 'libs/a', { build: target() }),
        b: project('b', 'libs/b', { build: target() }),
        c: project('c', 'libs/c', { build: target() }, ['scope:x']),
      },
      dependencies: {
        a: [{ source: 'a', target: 'npm:left-pad', type: 'static' }],
        b: [{ source: 'b', target: 'a', type: 'static' }],
        c: [],
        'npm:left-pad': [{ source: 'npm:left-pad', target: 'npm:pad-core', type: 'static' }],
        'npm:pad-core': [],
      },
      externalNodes: {
        'npm:left-pad': { name: 'npm:left-pad', type: 'npm', data: { packageName: 'left-pad', version: '1.3.0', hash: 'h1' } },
        'npm:pad-core': { name: 'npm:pad-core', type: 'npm', data: { packageName: 'pad-core', version: '1.0.0', hash: 'h2' } },
        'npm:is-odd': { name: 'npm:is-odd', type: 'npm', data: { packageName: 'is-odd', version: '3.0.1', hash: 'h3' } },
        'npm:@nx/js': { name: 'npm:@nx/js', type: 'npm', data: { packageName: '@nx/js', version: '24.0.0', hash: 'h4' } },
      },
    },
  };
  write('.gitignore', 'dist\ngen\n');
  write('nx.json', '{}\n');
  write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022", "paths": { "@w/a": ["libs/a/src/index.ts"] } } }\n');
  write('package.json', '{ "name": "w", "version": "1.0.0", "engines": { "node": "20" } }\n');
  for (const name of ['a', 'b', 'c']) {
    write(`libs/${name}/src/index.ts`, `export const ${name} = 1;\n`);
    write(`libs/${name}/src/index.spec.ts`, `// spec ${name}\n`);
  }
});

const nodeOf = (name: string): ProjectGraph['nodes'][string] => fx.graph.nodes[name] as ProjectGraph['nodes'][string];
const buildOf = (name: string): TargetConfiguration => nodeOf(name).data.targets?.['build'] as TargetConfiguration;
const setInputs = (name: string, inputs: TargetConfiguration['inputs']): void => void (buildOf(name).inputs = inputs);

async function hashOf(taskId = 'b:build', env: NodeJS.ProcessEnv = {}): Promise<string> {
  const tasks: TaskGraph['tasks'] = {};
  for (const name of Object.keys(fx.graph.nodes)) {
    const id = `${name}:build`;
    tasks[id] = { id, target: { project: name, target: 'build' }, overrides: {}, outputs: [`libs/${name}/dist`], parallelism: true } as TaskGraph['tasks'][string];
  }
  const taskGraph = { roots: [], tasks, dependencies: { 'a:build': [], 'b:build': [{ id: 'a:build' }], 'c:build': [] }, continuousDependencies: {} } as unknown as TaskGraph;
  const files = new FileIndex(await listWorkspaceFiles(fx.root));
  // A fresh graph object per hasher: the memo of named inputs lives in one hasher only.
  const graph = structuredClone(fx.graph);
  return new NxTaskHasher(fx.root, graph, taskGraph, structuredClone(fx.nxJson), files, new FileHasher(fx.root), { forTask: () => env }, fx.cwd).hash(taskId);
}

async function moves(change: () => void, taskId = 'b:build'): Promise<boolean> {
  const before = await hashOf(taskId);
  change();
  return (await hashOf(taskId)) !== before;
}

describe('NxTaskHasher: what Nx 24 adds to every task', () => {
  it('hashes the configuration of the task project and of projects its ^ inputs reach (outputs, options), not dependsOn or cache', async () => {
    expect(await moves(() => buildOf('a').outputs?.push('{projectRoot}/dist/p2'))).toBe(true);
    expect(await moves(() => void ((buildOf('b').options as Record<string, unknown>)['args'] = '--x'))).toBe(true);
    expect(await moves(() => void (nodeOf('a').data.tags = ['t']))).toBe(true);
    expect(await moves(() => void (buildOf('a').dependsOn = ['^build']))).toBe(false);
    expect(await moves(() => void (buildOf('a').cache = false))).toBe(false);
    expect(await moves(() => void ((buildOf('b').options as Record<string, unknown>)['retries'] = 3))).toBe(false);
    // c is not reached by b's inputs.
    expect(await moves(() => buildOf('c').outputs?.push('{projectRoot}/x'))).toBe(false);
  });
  it('hashes the root tsconfig without compilerOptions.paths, comments and layout aside', async () => {
    expect(await moves(() => write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2023", "paths": { "@w/a": ["libs/a/src/index.ts"] } } }'))).toBe(true);
    expect(await moves(() => write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2023", "paths": { "@w/b": ["libs/b/src/index.ts"] } } }\n'))).toBe(false);
    expect(await moves(() => write('tsconfig.base.json', '// c\n{\n "compilerOptions": { "target": "es2023", "paths": {}, },\n}\n'))).toBe(false);
  });
  it('with selectivelyHashTsConfig, hashes the paths that point into the projects the task reaches', async () => {
    fx.nxJson.tasksRunnerOptions = { default: { runner: 'nx/tasks-runners/default', options: { selectivelyHashTsConfig: true } } };
    expect(await moves(() => write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022", "paths": { "@w/a": ["libs/a/src/other.ts"] } } }'))).toBe(true);
    expect(await moves(() => write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022", "paths": { "@w/a": ["libs/a/src/other.ts"], "@w/c": ["libs/c/src/index.ts"] } } }'))).toBe(false);
  });
  it("hashes nx.json (but Stride's own plugin entry) and the ignore files", async () => {
    expect(await moves(() => write('nx.json', '{ "x": 1 }\n'))).toBe(true);
    expect(await moves(() => write('nx.json', '{ "x": 1, "plugins": [{ "plugin": "@stride/nx", "options": { "cacheDirectory": "elsewhere" } }] }\n'))).toBe(false);
    expect(await moves(() => write('.gitignore', 'dist\ngen\ntmp\n'))).toBe(true);
  });
  it('refuses a root tsconfig that is not JSON, naming the file', async () => {
    write('tsconfig.base.json', '{ nope');
    await expect(hashOf()).rejects.toThrow(/tsconfig\.base\.json cannot be read/);
  });
});

describe('NxTaskHasher: file set inputs', () => {
  it('without inputs, hashes all of its own files and the default named input of its dependencies', async () => {
    fx.nxJson.namedInputs = { default: ['{projectRoot}/src/**/*', '{workspaceRoot}/tsconfig.base.json'] };
    expect(await moves(() => write('libs/b/README.md', 'own file outside default'))).toBe(true);
    expect(await moves(() => write('libs/a/README.md', 'dependency file outside default'))).toBe(false);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 6;\n'))).toBe(true);
  });
  it('reads inputs made only of negations as every project file but those', async () => {
    setInputs('b', ['prod']);
    expect(await moves(() => write('libs/b/src/index.ts', 'export const b = 2;\n'))).toBe(true);
    expect(await moves(() => write('libs/b/src/index.spec.ts', '// more\n'))).toBe(false);
  });
  it('reads ^{projectRoot}/... as a file set of every dependency', async () => {
    setInputs('b', ['^{projectRoot}/src/**/*.ts', '!{projectRoot}/**/*.spec.ts']);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 2;\n'))).toBe(true);
    expect(await moves(() => write('libs/a/README.md', 'x'))).toBe(false);
    expect(await moves(() => write('libs/c/src/index.ts', 'export const c = 2;\n'))).toBe(false);
  });
  it('reads { fileset, dependencies: true } from every dependency, from disk with includeIgnored', async () => {
    setInputs('b', ['{projectRoot}/src/**/*', { fileset: '{projectRoot}/gen/**/*', dependencies: true, includeIgnored: true }]);
    expect(await moves(() => write('libs/a/gen/out.txt', 'v1'))).toBe(true);
    expect(await moves(() => write('libs/b/gen/out.txt', 'v1'))).toBe(false);
    setInputs('b', [{ fileset: '{projectRoot}/src/**/*', dependencies: true }]);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 7;\n'))).toBe(true);
    expect(await moves(() => write('libs/b/src/index.ts', 'export const b = 7;\n'))).toBe(false);
  });
  it('reads ignored files from disk with includeIgnored, and a missing plain path counts', async () => {
    setInputs('b', ['{projectRoot}/src/**/*', { fileset: '{projectRoot}/gen/**/*', includeIgnored: true }, { fileset: '{workspaceRoot}/gen/flag.txt', includeIgnored: true }]);
    write('libs/b/gen/config.json', '{}');
    expect(await moves(() => write('libs/b/gen/config.json', '{"a":1}'))).toBe(true);
    expect(await moves(() => write('gen/flag.txt', 'on'))).toBe(true);
    setInputs('b', ['{projectRoot}/src/**/*', { fileset: '{projectRoot}/gen/**/*' }]);
    expect(await moves(() => write('libs/b/gen/config.json', '{"a":2}'))).toBe(false);
  });
  it('treats always: true as an ordinary input (Stride has no recorded reads to replace)', async () => {
    setInputs('b', [{ fileset: '{projectRoot}/src/**/*', always: true }]);
    expect(await moves(() => write('libs/b/src/index.ts', 'export const b = 3;\n'))).toBe(true);
  });
  it('refuses a file set without a root token, naming the task', async () => {
    setInputs('b', [{ fileset: 'src/**/*' }]);
    await expect(hashOf()).rejects.toThrow(/\[b:build\] "src\/\*\*\/\*" is not a file set[\s\S]*fix:/);
  });
});

describe('NxTaskHasher: other input kinds', () => {
  it('selects projects by tag, name and glob, alone or mixed', async () => {
    setInputs('b', [{ input: 'default', projects: ['tag:scope:x'] }]);
    expect(await moves(() => write('libs/c/src/index.ts', 'export const c = 3;\n'))).toBe(true);
    setInputs('b', [{ input: 'default', projects: ['a', 'tag:scope:x'] }]);
    expect(await moves(() => write('libs/c/src/index.ts', 'export const c = 4;\n'))).toBe(true);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 4;\n'))).toBe(true);
    setInputs('b', [{ input: 'default', projects: ['libs/c*'] }]);
    expect(await moves(() => write('libs/c/src/index.ts', 'export const c = 5;\n'))).toBe(true);
    setInputs('b', [{ input: 'default', projects: ['nope'] }]);
    expect(await hashOf()).toMatch(/^[0-9a-f]{16}$/);
    setInputs('b', [{ input: 'default', projects: ['nope'], always: true }]);
    await expect(hashOf()).rejects.toThrow(/selects "nope", which matches no project/);
  });
  it('with projects and dependencies: true, reads the dependencies of the selected projects instead of the projects', async () => {
    setInputs('c', [{ input: 'default', projects: ['b'], dependencies: true }]);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 9;\n'), 'c:build')).toBe(true);
    expect(await moves(() => write('libs/b/src/index.ts', 'export const b = 9;\n'), 'c:build')).toBe(false);
  });
  it('removes what a ! pattern matches from what the patterns before it selected', async () => {
    setInputs('b', [{ input: 'default', projects: ['libs/*', '!tag:scope:x'] }]);
    expect(await moves(() => write('libs/a/src/index.ts', 'export const a = 8;\n'))).toBe(true);
    expect(await moves(() => write('libs/c/src/index.ts', 'export const c = 8;\n'))).toBe(false);
  });
  it('hashes the selected fields of a JSON file only', async () => {
    setInputs('b', [{ json: '{workspaceRoot}/package.json', fields: ['engines'] }]);
    expect(await moves(() => write('package.json', '{ "name": "w", "version": "2.0.0", "engines": { "node": "20" } }'))).toBe(false);
    expect(await moves(() => write('package.json', '{ "name": "w", "version": "2.0.0", "engines": { "node": "22" } }'))).toBe(true);
    setInputs('b', [{ json: '{workspaceRoot}/package.json', excludeFields: ['version'] }]);
    expect(await moves(() => write('package.json', '{ "version": "3.0.0", "engines": { "node": "22" }, "name": "w" }'))).toBe(false);
  });
  it('hashes the folder nx runs in with workingDirectory', async () => {
    setInputs('b', [{ workingDirectory: 'relative' }]);
    expect(await moves(() => void (fx.cwd = join(fx.root, 'libs/b')))).toBe(true);
    setInputs('b', [{ workingDirectory: 'sideways' } as unknown as NonNullable<TargetConfiguration['inputs']>[number]]);
    await expect(hashOf()).rejects.toThrow(/workingDirectory[\s\S]*"sideways"/);
  });
  it('refuses an unknown input kind, or unknown keys, naming the task and the input', async () => {
    setInputs('b', [{ fileglob: '{projectRoot}/**' } as unknown as NonNullable<TargetConfiguration['inputs']>[number]]);
    await expect(hashOf()).rejects.toThrow(/\[b:build\] unsupported input \{"fileglob"/);
    setInputs('b', [{ fileset: '{projectRoot}/**', include: true } as unknown as NonNullable<TargetConfiguration['inputs']>[number]]);
    await expect(hashOf()).rejects.toThrow(/keys Nx does not define for a fileset input: include/);
  });
});

describe('NxTaskHasher: external dependencies', () => {
  const bump = (name: string, hash: string) => (): void => {
    const node = fx.graph.externalNodes?.[name];
    if (node) node.data.hash = hash;
  };
  it('a command hashes every external node', async () => {
    expect(await moves(bump('npm:is-odd', 'changed'))).toBe(true);
  });
  it('externalDependencies hash the named packages with their transitive trees only', async () => {
    setInputs('b', ['default', { externalDependencies: ['left-pad'] }]);
    expect(await moves(bump('npm:pad-core', 'changed'))).toBe(true);
    expect(await moves(bump('npm:is-odd', 'changed'))).toBe(false);
    setInputs('b', ['default', { externalDependencies: ['nope'] }]);
    await expect(hashOf()).rejects.toThrow(/"nope" is not in the lockfile/);
  });
  it('^ inputs hash the npm packages the project and its dependencies use, with their trees', async () => {
    setInputs('b', ['default', '^default', { externalDependencies: [] }]);
    expect(await moves(bump('npm:pad-core', 'changed'))).toBe(true);
    expect(await moves(bump('npm:is-odd', 'changed'))).toBe(false);
    setInputs('b', ['default', { externalDependencies: [] }]);
    expect(await moves(bump('npm:pad-core', 'again'))).toBe(false);
  });
  it('a wrapped @nx/ executor hashes its package tree; another executor hashes everything', async () => {
    buildOf('b').options = { executor: '@nx/js:tsc', options: {} };
    setInputs('b', ['default']);
    expect(await moves(bump('npm:@nx/js', 'changed'))).toBe(true);
    expect(await moves(bump('npm:is-odd', 'changed'))).toBe(false);
    buildOf('b').options = { executor: 'nx:run-commands', options: { command: 'x' } };
    expect(await moves(bump('npm:is-odd', 'again'))).toBe(true);
  });
});

describe('NxTaskHasher: bookkeeping', () => {
  it('is stable across hashers for an unchanged workspace', async () => {
    expect(await hashOf()).toBe(await hashOf());
    rmSync(join(fx.root, 'libs/c'), { recursive: true });
  });
});
