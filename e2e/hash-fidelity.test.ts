import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIFF_DEPENDENCIES, DIFF_PROJECTS, generateDiffWorkspace, lockfileWith } from './support/diff-workspace.js';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * The differential test of issue 4: one workspace in two copies, one cached by
 * Stride and one by Nx's own cache. Each edit is applied to both; the set of
 * tasks Stride re-runs must equal the set Nx re-runs.
 */
interface Edit {
  name: string;
  apply: (ws: TestWorkspace) => void;
  env?: NodeJS.ProcessEnv;
  /** What Nx is expected to re-run, to catch a test that stops testing anything. */
  expectSomething: boolean;
}

const edits: Edit[] = [
  { name: 'no change', apply: () => undefined, expectSomething: false },
  { name: 'source file', apply: (ws) => ws.write('libs/a/src/util.js', 'export const aUtil = 2;\n'), expectSomething: true },
  { name: 'spec file excluded from production', apply: (ws) => ws.write('libs/b/src/index.spec.js', '// more specs\n'), expectSomething: false },
  { name: 'root config in sharedGlobals', apply: (ws) => ws.write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2023" } }\n'), expectSomething: true },
  { name: 'lockfile: version bump of a used package', apply: (ws) => ws.write('package-lock.json', lockfileWith({ leftPad: '1.3.1', isOdd: '3.0.1' })), expectSomething: true },
  { name: 'lockfile: version bump of an unused package', apply: (ws) => ws.write('package-lock.json', lockfileWith({ leftPad: '1.3.1', isOdd: '3.0.2' })), expectSomething: true },
  { name: 'env value', apply: () => undefined, env: { BUILD_FLAVOR: 'prod' }, expectSomething: true },
  { name: 'runtime output', apply: (ws) => ws.write('.runtime/value', 'v2'), expectSomething: true },
  { name: '.gitignored file', apply: (ws) => ws.write('libs/a/debug.log', 'noise'), expectSomething: false },
  { name: '.nxignored file', apply: (ws) => ws.write('libs/d/scratch/notes.js', 'noise'), expectSomething: false },
  { name: 'new file', apply: (ws) => ws.write('libs/b/src/added.js', 'export const added = 1;\n'), expectSomething: true },
  { name: 'deleted file', apply: (ws) => rmSync(join(ws.root, 'libs/c/src/util.js')), expectSomething: true },
  { name: 'renamed file', apply: (ws) => renameSync(join(ws.root, 'libs/d/src/util.js'), join(ws.root, 'libs/d/src/helpers.js')), expectSomething: true },
  { name: "dependency's output file", apply: (ws) => ws.write('libs/a/dist/index.js', '// tampered output\n'), expectSomething: false },
  {
    name: 'a target option',
    apply: (ws) =>
      ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/c/project.json', (p) => {
        p.targets.build.options.args = '--flavour=fast';
        return p;
      }),
    expectSomething: true,
  },
];

describe('hash fidelity: Stride re-runs exactly what Nx re-runs', () => {
  let stride: TestWorkspace;
  let nx: TestWorkspace;
  let env: NodeJS.ProcessEnv = { BUILD_FLAVOR: 'dev' };

  const run = (ws: TestWorkspace): string[] => {
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build,bundle'], env);
    expect(result.code, result.output).toBe(0);
    return [...new Set(ws.buildLog().slice(before))].sort();
  };

  beforeAll(() => {
    stride = createWorkspaceWith((root) => generateDiffWorkspace(root, 'stride'));
    nx = createWorkspaceWith((root) => generateDiffWorkspace(root, 'nx'));
  });
  afterAll(() => {
    stride.remove();
    nx.remove();
  });

  it('cold: both run every task', () => {
    const all = DIFF_PROJECTS.flatMap((p) => [`${p}:build`, `${p}:bundle`]).sort();
    expect(run(nx)).toEqual(all);
    expect(run(stride)).toEqual(all);
  });

  it.each(edits)('$name', (edit) => {
    edit.apply(stride);
    edit.apply(nx);
    env = { ...env, ...edit.env };
    const byNx = run(nx);
    const byStride = run(stride);
    expect(byStride, `Stride re-ran ${JSON.stringify(byStride)} where Nx re-ran ${JSON.stringify(byNx)} after: ${edit.name}`).toEqual(byNx);
    expect(byNx.length > 0, `Nx ${edit.expectSomething ? 'should' : 'should not'} re-run something after: ${edit.name}`).toBe(edit.expectSomething);
  });

  it('the graph under test is the intended one', () => {
    expect(DIFF_DEPENDENCIES['x']).toEqual(['c']);
  });
});
