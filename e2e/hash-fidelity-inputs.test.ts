import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 19's input kinds, held against Nx's own cache: one workspace in two
 * copies, one cached by Stride and one by Nx 24 (its own cache folder each).
 * Every edit is applied to both and the set of tasks that really ran (the build
 * log) must be the same. Each project exercises one input kind.
 */
const PROJECTS: Record<string, { inputs?: unknown[]; outputs?: string[]; tags?: string[]; deps?: string[]; wrapped?: boolean }> = {
  // Item 2: inputs made only of negations select every project file but those.
  neg: { inputs: ['!{projectRoot}/**/*.spec.js'] },
  // Item 3: a dependency file set written inline.
  lib: {},
  inl: { inputs: ['{projectRoot}/**/*', '^{projectRoot}/src/**/*.js'], deps: ['lib'] },
  // Item 4: gitignored generated files as inputs.
  ign: { inputs: ['{projectRoot}/src/**/*', { fileset: '{projectRoot}/gen/**/*', includeIgnored: true }] },
  // Item 5: projects selected by tag and by name.
  tagged: { tags: ['scope:shared'] },
  named: {},
  tagd: { inputs: ['{projectRoot}/**/*', { input: 'default', projects: ['tag:scope:shared', 'named'] }] },
  // Item 6: the target's own configuration (its outputs) is hashed.
  cfg: { outputs: ['{projectRoot}/dist/index.js'] },
  // Item 12: always, workingDirectory, json fields.
  alw: { inputs: [{ fileset: '{projectRoot}/src/**/*', always: true }] },
  cwd: { inputs: ['{projectRoot}/**/*', { workingDirectory: 'relative' }] },
  json: { inputs: ['{projectRoot}/src/**/*', { json: '{workspaceRoot}/package.json', fields: ['engines'] }] },
  // Item 13: an npm package with its transitive tree; and a wrapped executor that is not @nx/ (every package counts).
  ext: { inputs: ['{projectRoot}/**/*', { externalDependencies: ['left-pad'] }] },
  wrap: { wrapped: true },
};
const ALL = Object.keys(PROJECTS).map((name) => `${name}:build`).sort();

const BUILD = `import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const project = process.env.NX_TASK_TARGET_PROJECT;
appendFileSync(join('..', '..', 'build-log.txt'), project + ':build\\n');
const sources = readdirSync('src').sort().map((f) => f + '=' + readFileSync(join('src', f), 'utf8')).join('\\n');
mkdirSync('dist/p2', { recursive: true });
writeFileSync('dist/index.js', '// ' + project + '\\n' + sources);
writeFileSync('dist/p2/marker.js', '// p2 of ' + project + '\\n');
`;

function lockfile(versions: { leftPad: string; padCore: string; isOdd: string }): string {
  const pkg = (name: string, version: string, dependencies?: Record<string, string>): Record<string, unknown> => ({
    version,
    resolved: `https://registry.npmjs.org/${name}/-/${name}-${version}.tgz`,
    integrity: `sha512-${name}${version}`,
    ...(dependencies ? { dependencies } : {}),
  });
  return `${JSON.stringify(
    {
      name: 'inputs-ws',
      version: '0.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'inputs-ws', version: '0.0.0', dependencies: { 'left-pad': versions.leftPad, 'is-odd': versions.isOdd } },
        'node_modules/left-pad': pkg('left-pad', versions.leftPad, { 'pad-core': `^${versions.padCore}` }),
        'node_modules/pad-core': pkg('pad-core', versions.padCore),
        'node_modules/is-odd': pkg('is-odd', versions.isOdd),
      },
    },
    null,
    2,
  )}\n`;
}

function packageJson(version: string, node: string): string {
  return `${JSON.stringify({ name: 'inputs-ws', version, private: true, engines: { node }, dependencies: { 'left-pad': '1.3.0', 'is-odd': '3.0.1' } }, null, 2)}\n`;
}

function generate(root: string, flavour: 'stride' | 'nx'): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const stride = flavour === 'stride';
  write('.gitignore', 'node_modules\ndist\n.nx\n.nx-cache\n.stride\nbuild-log.txt\n*.log\ngen\n');
  write('package.json', packageJson('1.0.0', '>=20'));
  write('package-lock.json', lockfile({ leftPad: '1.3.0', padCore: '1.0.0', isOdd: '3.0.1' }));
  write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022", "paths": { "@ws/lib": ["libs/lib/src/index.js"] } } }\n');
  write('tools/build.mjs', BUILD);
  write(
    'nx.json',
    `${JSON.stringify(
      {
        neverConnectToCloud: true,
        useDaemonProcess: false,
        ...(stride ? { plugins: ['@stride/nx'] } : {}),
        // Narrower than Nx's own default: a target without inputs still hashes all of its project's files.
        namedInputs: { default: ['{projectRoot}/src/**/*'] },
        targetDefaults: { build: { dependsOn: ['^build'], outputs: ['{projectRoot}/dist'], cache: !stride } },
      },
      null,
      2,
    )}\n`,
  );
  for (const [name, spec] of Object.entries(PROJECTS)) {
    const run = { command: 'node ../../tools/build.mjs', cwd: `libs/${name}` };
    let build: Record<string, unknown>;
    if (!stride) build = { executor: 'nx:run-commands', options: run };
    else if (spec.wrapped) build = { executor: '@stride/nx:run', options: { executor: 'nx:run-commands', options: run } };
    else build = { executor: '@stride/nx:run', options: { command: run.command } };
    if (spec.inputs) build['inputs'] = spec.inputs;
    if (spec.outputs) build['outputs'] = spec.outputs;
    write(
      `libs/${name}/project.json`,
      `${JSON.stringify({ name, root: `libs/${name}`, tags: spec.tags ?? [], implicitDependencies: spec.deps ?? [], targets: { build } }, null, 2)}\n`,
    );
    write(`libs/${name}/src/index.js`, `export const ${name} = '${name}';\n`);
    write(`libs/${name}/src/util.js`, `export const ${name}Util = 1;\n`);
    write(`libs/${name}/src/index.spec.js`, `// spec of ${name}\n`);
    write(`libs/${name}/README.md`, `# ${name}\n`);
  }
  write('libs/ign/gen/config.txt', 'generated v1\n');
}

interface Edit {
  name: string;
  apply: (ws: TestWorkspace) => void;
  /** The folder nx is started in, relative to the workspace (default: its root). */
  cwd?: string;
  /** What Nx is expected to re-run: catches a case that stops testing anything. */
  expected: string[];
  /** Checked on both copies after the run. */
  check?: (ws: TestWorkspace) => void;
}

const edits: Edit[] = [
  { name: 'no change', apply: () => undefined, expected: [] },
  { name: 'negation-only inputs: a source file', apply: (ws) => ws.write('libs/neg/src/util.js', 'export const negUtil = 2;\n'), expected: ['neg:build'] },
  { name: 'negation-only inputs: an excluded spec file', apply: (ws) => ws.write('libs/neg/src/index.spec.js', '// more specs\n'), expected: [] },
  { name: "inline ^ file set: the dependency's source", apply: (ws) => ws.write('libs/lib/src/util.js', 'export const libUtil = 2;\n'), expected: ['inl:build', 'lib:build'] },
  {
    name: 'inline ^ file set: a dependency file outside it, outside default too (lib has no inputs: all its files count)',
    apply: (ws) => ws.write('libs/lib/README.md', '# lib, again\n'),
    expected: ['lib:build'],
  },
  { name: 'includeIgnored: a gitignored generated input', apply: (ws) => ws.write('libs/ign/gen/config.txt', 'generated v2\n'), expected: ['ign:build'] },
  { name: 'a gitignored file no input reads from disk', apply: (ws) => ws.write('libs/neg/debug.log', 'noise\n'), expected: [] },
  { name: 'projects by tag: the tagged project', apply: (ws) => ws.write('libs/tagged/src/util.js', 'export const taggedUtil = 2;\n'), expected: ['tagd:build', 'tagged:build'] },
  { name: 'projects by name beside a tag: the named project', apply: (ws) => ws.write('libs/named/src/util.js', 'export const namedUtil = 2;\n'), expected: ['named:build', 'tagd:build'] },
  {
    name: "the target's configuration: a new output, dist deleted",
    apply: (ws) => {
      ws.updateJson<{ targets: { build: { outputs: string[] } } }>('libs/cfg/project.json', (p) => {
        p.targets.build.outputs.push('{projectRoot}/dist/p2');
        return p;
      });
      rmSync(join(ws.root, 'libs/cfg/dist'), { recursive: true, force: true });
    },
    expected: ['cfg:build'],
    check: (ws) => expect(existsSync(join(ws.root, 'libs/cfg/dist/p2/marker.js')), `dist/p2 missing in ${ws.root}`).toBe(true),
  },
  {
    name: 'the new output comes back from the cache',
    apply: (ws) => rmSync(join(ws.root, 'libs/cfg/dist'), { recursive: true, force: true }),
    expected: [],
    check: (ws) => expect(ws.read('libs/cfg/dist/p2/marker.js')).toBe('// p2 of cfg\n'),
  },
  {
    name: 'tsconfig.base.json: only paths change',
    apply: (ws) => ws.write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022", "paths": { "@ws/lib": ["libs/lib/src/util.js"] } } }\n'),
    expected: [],
  },
  {
    name: 'tsconfig.base.json: compilerOptions.target',
    apply: (ws) => ws.write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2023", "paths": { "@ws/lib": ["libs/lib/src/util.js"] } } }\n'),
    expected: ALL,
  },
  { name: 'always on a file set', apply: (ws) => ws.write('libs/alw/src/util.js', 'export const alwUtil = 2;\n'), expected: ['alw:build'] },
  { name: 'json input: a field it does not select', apply: (ws) => ws.write('package.json', packageJson('1.0.1', '>=20')), expected: [] },
  { name: 'json input: the selected field', apply: (ws) => ws.write('package.json', packageJson('1.0.1', '>=22')), expected: ['json:build'] },
  { name: 'workingDirectory: nx started in a subfolder', apply: () => undefined, cwd: 'libs', expected: ['cwd:build'] },
  { name: 'workingDirectory: back at the root, the earlier result is restored', apply: () => undefined, expected: [] },
  {
    name: 'lockfile: a package outside the declared externalDependencies',
    apply: (ws) => ws.write('package-lock.json', lockfile({ leftPad: '1.3.0', padCore: '1.0.0', isOdd: '3.0.2' })),
    expected: ALL.filter((id) => id !== 'ext:build'),
  },
  {
    name: 'lockfile: a transitive dependency of a declared external',
    apply: (ws) => ws.write('package-lock.json', lockfile({ leftPad: '1.3.0', padCore: '1.0.1', isOdd: '3.0.2' })),
    expected: ALL,
  },
];

describe('hash fidelity, input kinds (issue 19): Stride re-runs exactly what Nx re-runs', () => {
  let stride: TestWorkspace;
  let nx: TestWorkspace;

  const run = (ws: TestWorkspace, cwd?: string): string[] => {
    const before = ws.buildLog().length;
    // Nx gets a cache folder of its own per workspace; a subfolder start goes through the shell's cd.
    const env = { NX_CACHE_DIRECTORY: join(ws.root, '.nx-cache') };
    const result = cwd ? ws.exec('sh', ['-c', `cd ${cwd} && exec "${join(ws.root, 'node_modules', '.bin', 'nx')}" run-many -t build`], env) : ws.nx(['run-many', '-t', 'build'], env);
    expect(result.code, result.output).toBe(0);
    return [...new Set(ws.buildLog().slice(before))].sort();
  };

  beforeAll(() => {
    stride = createWorkspaceWith((root) => generate(root, 'stride'));
    nx = createWorkspaceWith((root) => generate(root, 'nx'));
  });
  afterAll(() => {
    stride.remove();
    nx.remove();
  });

  it('cold: both run every task', () => {
    expect(run(nx)).toEqual(ALL);
    expect(run(stride)).toEqual(ALL);
  });

  it.each(edits)('$name', (edit) => {
    edit.apply(stride);
    edit.apply(nx);
    const byNx = run(nx, edit.cwd);
    const byStride = run(stride, edit.cwd);
    expect(byStride, `Stride re-ran ${JSON.stringify(byStride)} where Nx re-ran ${JSON.stringify(byNx)} after: ${edit.name}`).toEqual(byNx);
    expect(byNx, `Nx's own re-run set after: ${edit.name}`).toEqual(edit.expected);
    edit.check?.(nx);
    edit.check?.(stride);
  });

  // Nx itself refuses an object of no known kind before any task starts; a misspelt key of a known kind it
  // ignores (the input then silently means something else). Stride names the task, the input and the key.
  it('a misspelt key in an input fails the task, naming it, the input and the key', () => {
    stride.updateJson<{ targets: { build: { inputs: unknown[] } } }>('libs/alw/project.json', (p) => {
      p.targets.build.inputs = [...p.targets.build.inputs, { fileset: '{projectRoot}/gen/**', includeIgnore: true }];
      return p;
    });
    const result = stride.nx(['run', 'alw:build']);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/\[alw:build\] the input \{"fileset":"\{projectRoot\}\/gen\/\*\*","includeIgnore":true\} has keys Nx does not define for a fileset input: includeIgnore/);
  });
});
