import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createWorkspace } from './support/workspace.js';

// The global setup npm-installs nx 24 and the packed tarballs into a folder
// outside the repo, exactly as a user would; these tests use that install.
describe('Stride installed from its tarballs into an outside Nx 24 workspace', () => {
  const ws = createWorkspace({ projects: 3, stride: false });
  afterAll(() => ws.remove());

  it('installed Stride from its one tarball, the engine inside, with the stride bin', () => {
    const modules = join(inject('installDir'), 'node_modules');
    const nxPkg = JSON.parse(readFileSync(join(modules, '@stride', 'nx', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; imports: Record<string, unknown> };
    expect(nxPkg.dependencies['@stride/core']).toBeUndefined();
    expect(Object.keys(nxPkg.imports)).toEqual(['#stride-core']);
    expect(existsSync(join(modules, '@stride', 'nx', 'core', 'index.js'))).toBe(true);
    expect(existsSync(join(modules, '@stride', 'core'))).toBe(false);
    expect(inject('tarballs').map((t) => t.split('/').pop())).toEqual(['stride-nx-0.1.0.tgz']);
    const help = ws.stride(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('stride gc');
  });

  it('`nx g @stride/nx:init --wrap=build` wires Stride in, and a second run changes nothing', () => {
    const first = ws.nx(['g', '@stride/nx:init', '--wrap=build', '--no-interactive']);
    expect(first.code, first.output).toBe(0);
    const nxJson = JSON.parse(ws.read('nx.json')) as { plugins?: unknown[]; targetDefaults: Record<string, { cache?: boolean }> };
    // No plugin entry (it would cost a plugin worker per run): the executor reads Nx's command line itself.
    expect(nxJson.plugins ?? []).not.toContain('@stride/nx');
    // The default mode ("nx"): Nx's local cache stays in front of the Stride targets.
    expect(nxJson.targetDefaults['build']?.cache).toBe(true);
    expect(nxJson.targetDefaults['@stride/nx:run']).toBeUndefined();
    expect(ws.read('.gitignore').split('\n')).toContain('.stride');
    const project = JSON.parse(ws.read('libs/lib01/project.json')) as { targets: { build: { executor: string; options: { executor: string; options: { command: string } } } } };
    expect(project.targets.build.executor).toBe('@stride/nx:run');
    // Nx's own run-commands runs inside Stride, so cwd, {args.x} and the rest behave exactly as before.
    expect(project.targets.build.options).toMatchObject({ executor: 'nx:run-commands', options: { command: 'node ../../tools/build.mjs', cwd: 'libs/lib01' } });

    // The wrapped target still gets the workspace's build defaults (dependsOn, outputs).
    const shown = ws.nx(['show', 'project', 'lib01', '--json']);
    const resolved = JSON.parse(shown.stdout) as { targets: { build: { dependsOn: string[]; outputs: string[]; cache: boolean } } };
    expect(resolved.targets.build).toMatchObject({ dependsOn: ['^build'], outputs: ['{projectRoot}/dist'], cache: true });

    const snapshot = [ws.read('nx.json'), ws.read('.gitignore'), ws.read('libs/lib01/project.json')];
    const second = ws.nx(['g', '@stride/nx:init', '--wrap=build', '--no-interactive']);
    expect(second.code, second.output).toBe(0);
    expect([ws.read('nx.json'), ws.read('.gitignore'), ws.read('libs/lib01/project.json')]).toEqual(snapshot);

    const build = ws.nx(['run-many', '-t', 'build', '--parallel=1']);
    expect(build.code, build.output).toBe(0);
    expect(ws.lastRun().tasks).toHaveLength(3);
    expect(ws.lastRun().parallel).toBe(1);
  });

  it('`nx g @stride/nx:ci` writes the pipeline for each provider, and names the fix for an unknown one', () => {
    const github = ws.nx(['g', '@stride/nx:ci', '--provider=github', '--shards=2', '--no-interactive']);
    expect(github.code, github.output).toBe(0);
    expect(ws.read('.github/workflows/stride-ci.yml')).toContain('stride shard --total 2 --index ${{ matrix.shard }}');
    const gitlab = ws.nx(['g', '@stride/nx:ci', '--provider=gitlab', '--no-interactive']);
    expect(gitlab.code, gitlab.output).toBe(0);
    expect(ws.read('.gitlab-ci.yml')).toContain('parallel: 4');
    const bad = ws.nx(['g', '@stride/nx:ci', '--provider=jenkins', '--no-interactive']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/provider/);
  });

  it('`stride summary --markdown` prints the last run for a CI job summary', () => {
    const summary = ws.stride(['summary', '--markdown']);
    expect(summary.code, summary.output).toBe(0);
    expect(summary.stdout).toMatch(/^### Stride: 3 tasks in /);
    expect(summary.stdout).toContain('```text\nStride: 3 tasks');
  });
});
