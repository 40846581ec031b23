import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type TestWorkspace, withDependants, withDependencies } from './support/workspace.js';

/** The projects built since `from` lines of the build log, and the Nx worker pids they ran under. */
function builtSince(ws: TestWorkspace, from: number): { projects: string[]; workers: Set<string> } {
  const lines = ws.buildLog().slice(from).map((line) => line.split(' '));
  return { projects: lines.map(([p]) => p as string).sort(), workers: new Set(lines.map(([, pid]) => pid as string)) };
}

const outputs = (ws: TestWorkspace): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);

describe('@stride/nx:run as the task runner under nx run-many (12 projects)', () => {
  let ws: TestWorkspace;
  let coldOutputs: Record<string, string>;
  let coldHashes: Record<string, string | null>;

  beforeAll(() => {
    ws = createWorkspace({ projects: 12, width: 4 });
  });
  afterAll(() => ws.remove());

  it('cold: runs every task once, in dependency order, all in one batch process', () => {
    const result = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout.match(/Running 12 tasks with @stride\/nx:run/g)).toHaveLength(1);
    const built = builtSince(ws, 0);
    expect(built.projects).toEqual(ws.graph.projects);
    expect(built.workers.size).toBe(1);
    expect([...built.workers][0]).not.toBe('0');

    const record = ws.lastRun();
    expect(record.tasks.map((t) => t.cache)).toEqual(Array(12).fill('miss'));
    const byId = new Map(record.tasks.map((t) => [t.id, t]));
    for (const [project, deps] of Object.entries(ws.graph.dependencies)) {
      for (const dep of deps) expect(byId.get(`${dep}:build`)!.endMs).toBeLessThanOrEqual(byId.get(`${project}:build`)!.startMs);
    }
    // Each task's output sits under its own heading.
    expect(result.stdout).toMatch(/> nx run lib05:build\s+built lib05/);
    coldOutputs = ws.digest(outputs(ws));
    coldHashes = Object.fromEntries(record.tasks.map((t) => [t.id, t.hash]));
    expect(Object.keys(coldOutputs)).toHaveLength(24);
  });

  it('warm: with outputs deleted, restores every task byte for byte, runs nothing, replays output', () => {
    for (const path of outputs(ws)) rmSync(join(ws.root, path), { recursive: true });
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(result.code, result.output).toBe(0);
    expect(ws.buildLog().length).toBe(before);
    expect(ws.lastRun().tasks.map((t) => t.cache)).toEqual(Array(12).fill('local'));
    expect(ws.digest(outputs(ws))).toEqual(coldOutputs);
    expect(result.stdout).toMatch(/> nx run lib07:build  \[local cache\]\s+built lib07/);
    expect(result.stdout).toMatch(/Stride: 12 tasks in [\d.]+m?s: 0 ran, 12 restored, 0 failed, 0 skipped/);
  });

  it('an edit to one library re-runs it and its dependants only', () => {
    ws.write('libs/lib01/src/index.js', "export const lib01 = 'edited';\n");
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code, result.output).toBe(0);
    const expected = withDependants(ws.graph, 'lib01');
    expect(expected.length).toBeGreaterThan(1);
    expect(builtSince(ws, before).projects).toEqual(expected);
    for (const task of ws.lastRun().tasks) {
      expect(task.cache, task.id).toBe(expected.includes(task.id.split(':')[0] as string) ? 'miss' : 'local');
    }
  });

  it('a spec file outside the production inputs changes nothing', () => {
    ws.write('libs/lib02/src/index.spec.js', '// a new test\n');
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code, result.output).toBe(0);
    expect(ws.lastRun().tasks.every((t) => t.cache === 'local')).toBe(true);
  });

  it('--batch=false runs each task on its own, with the same hashes and the same store', () => {
    // Back to the sources of the cold run: a task hashed differently in single-task
    // mode would miss and build, so an unchanged build log proves equal hashes.
    ws.git(['checkout', '--', '.']);
    ws.exec('git', ['clean', '-fdq']);
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build', '--batch=false']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).not.toContain('with @stride/nx:run');
    expect(ws.buildLog().length).toBe(before);
    const last = ws.lastRun().tasks;
    expect(last).toHaveLength(1);
    expect(last[0]!.cache).toBe('local');
    expect(last[0]!.hash).toBe(coldHashes[last[0]!.id]);

    ws.nx(['run-many', '-t', 'build', '--batch=false', '--skip-nx-cache', '--projects=lib00,lib01']);
    const built = builtSince(ws, before);
    expect(built.projects).toEqual(['lib00', 'lib01']);
    expect(built.workers.size).toBe(2);
  });

  it('--skip-nx-cache runs everything again', () => {
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build', '--skip-nx-cache']);
    expect(result.code, result.output).toBe(0);
    expect(builtSince(ws, before).projects).toEqual(ws.graph.projects);
  });

  it('--output-style=stream prints each task\'s lines live, prefixed, exactly once', () => {
    const ran = ws.nx(['run-many', '-t', 'build', '--output-style=stream', '--skip-nx-cache', '--projects=lib00,lib01']);
    expect(ran.code, ran.output).toBe(0);
    expect(ran.stdout.match(/^lib00:build: built lib00/gm)).toHaveLength(1);
    expect(ran.stdout).not.toMatch(/^built lib00/m);
    const replayed = ws.nx(['run-many', '-t', 'build', '--output-style=stream', '--projects=lib00']);
    expect(replayed.stdout.match(/^lib00:build: built lib00/gm)).toHaveLength(1);
  });

  it('nx run, nx affected and nx graph still work', () => {
    const single = ws.nx(['run', 'lib08:build']);
    expect(single.code, single.output).toBe(0);
    expect(ws.lastRun().tasks.map((t) => t.id).sort()).toEqual(withDependencies(ws.graph, 'lib08').map((p) => `${p}:build`));

    ws.write('libs/lib03/src/util.js', 'export function lib03Util(x) { return x * 3; }\n');
    const before = ws.buildLog().length;
    const affected = ws.nx(['affected', '-t', 'build', '--base=HEAD']);
    expect(affected.code, affected.output).toBe(0);
    expect(builtSince(ws, before).projects).toEqual(withDependants(ws.graph, 'lib03'));

    const graph = ws.nx(['graph', '--file=graph.json']);
    expect(graph.code, graph.output).toBe(0);
    const json = JSON.parse(ws.read('graph.json')) as { graph: { nodes: Record<string, { data: { targets: Record<string, { executor: string }> } }> } };
    expect(Object.keys(json.graph.nodes)).toHaveLength(12);
    expect(json.graph.nodes['lib03']!.data.targets['build']!.executor).toBe('@stride/nx:run');
  });

  it('a failing task fails the run with its output, is not stored, and its dependants are skipped', () => {
    ws.write('libs/lib00/src/index.js', '// FAIL_BUILD\n');
    const before = ws.buildLog().length;
    const result = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('build of lib00 failed: its source asks for it');
    const tasks = new Map(ws.lastRun().tasks.map((t) => [t.id, t]));
    const failed = tasks.get('lib00:build')!;
    expect(failed.status).toBe('failure');
    expect(existsSync(join(ws.root, '.stride', 'cache', failed.hash!.slice(0, 2), failed.hash!))).toBe(false);
    for (const project of withDependants(ws.graph, 'lib00').filter((p) => p !== 'lib00')) {
      expect(tasks.get(`${project}:build`)?.status, project).toBe('skipped');
    }
    expect(builtSince(ws, before).projects).not.toContain('lib00');
    const others = [...tasks.values()].filter((t) => !withDependants(ws.graph, 'lib00').includes(t.id.split(':')[0] as string));
    expect(others.every((t) => t.status === 'success')).toBe(true);
    // Failing again: it runs again (failures are never restored).
    ws.nx(['run-many', '-t', 'build', '--projects=lib00']);
    expect(ws.lastRun().tasks[0]).toMatchObject({ id: 'lib00:build', cache: 'miss', status: 'failure' });
  });

  it('stride gc trims the store', () => {
    const result = ws.stride(['gc', '--max-size', '0']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/removed \d+ entries, kept 0/);
  });

  it('outputs that select nothing after a run: one warning, and restoring that entry saves no time', () => {
    ws.updateJson<{ targets: { build: Record<string, unknown> } }>('libs/lib11/project.json', (p) => ({ ...p, targets: { ...p.targets, build: { ...p.targets.build, outputs: ['{projectRoot}/nowhere'] } } }));
    const built = ws.nx(['run-many', '-t', 'build', '--projects=lib11', '--exclude-task-dependencies']);
    expect(built.code, built.output).toBe(0);
    expect(built.stdout).toContain('lib11:build declares outputs (libs/lib11/nowhere) but nothing is there after it ran: a restore will bring nothing back (and saves no time)');
    const restored = ws.nx(['run-many', '-t', 'build', '--projects=lib11', '--exclude-task-dependencies']);
    expect(restored.code, restored.output).toBe(0);
    expect(ws.lastRun().tasks.find((t) => t.id === 'lib11:build')).toMatchObject({ cache: 'local', savedMs: 0 });
    expect(restored.stdout).toContain('restores saved 0ms');
  });
});

describe('bad configuration gets a clear error and a non-zero exit', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspace({ projects: 2 });
  });
  afterAll(() => ws.remove());

  it('names the executor option at fault and the fix', () => {
    ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/lib01/project.json', (p) => {
      p.targets.build.options = { cmd: 'echo typo' };
      return p;
    });
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('@stride/nx:run needs either "command" or "executor"');
    expect(result.output).toContain('setting: options.command');
    expect(result.output).toContain('fix: add "command"');
    ws.git(['checkout', '--', 'libs/lib01/project.json']);
  });

  it('names the task and the input when a runtime input fails', () => {
    ws.updateJson<{ targetDefaults: { build: { inputs: unknown[] } } }>('nx.json', (nx) => {
      nx.targetDefaults.build.inputs = ['production', { runtime: 'node -e "process.exit(4)"' }];
      return nx;
    });
    const result = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('[lib00:build] the runtime input "node -e "process.exit(4)"" failed');
    expect(result.output).toContain('fix: make the command succeed from the workspace root, or remove the input');
    ws.git(['checkout', '--', 'nx.json']);
  });

  it('names the nx.json plugin option at fault and the fix', () => {
    ws.updateJson<{ plugins: unknown[] }>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options: { maxCacheSize: 'lots' } }] }));
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('plugins[@stride/nx].options.maxCacheSize = "lots"');
    expect(result.output).toContain('fix: use a size such as "10GB"');
  });
});

describe('wrapping another executor', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspace({ projects: 2 });
  });
  afterAll(() => ws.remove());

  it('runs the wrapped executor through Stride and restores it on the next run', () => {
    ws.updateJson<{ targets: { build: Record<string, unknown> } }>('libs/lib00/project.json', (p) => {
      p.targets.build = {
        executor: '@stride/nx:run',
        options: { executor: 'nx:run-commands', options: { command: 'node ../../tools/build.mjs', cwd: 'libs/lib00' } },
      };
      return p;
    });
    const cold = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(cold.code, cold.output).toBe(0);
    expect(builtSince(ws, 0).projects).toEqual(['lib00', 'lib01']);
    expect(cold.stdout).toContain('built lib00');
    rmSync(join(ws.root, 'libs/lib00/dist'), { recursive: true });
    const warm = ws.nx(['run-many', '-t', 'build']);
    expect(warm.code, warm.output).toBe(0);
    expect(ws.buildLog()).toHaveLength(2);
    expect(existsSync(join(ws.root, 'libs/lib00/dist/index.js'))).toBe(true);
  });
});
