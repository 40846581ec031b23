import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTimedWorkspace } from '../tools/workspace-gen.mjs';
import { createWorkspaceWith, type RunRecordTask, type TestWorkspace } from './support/workspace.js';

/**
 * `long` (2 s) has no dependants; s1..s3 (0.2 s) have one each. Knowing
 * nothing, Stride (like Nx) starts the tasks with dependants first and `long`
 * last; once the first run has recorded durations, `long` goes first.
 */
const unequal = {
  dag: {
    ids: ['long', 's1', 's2', 's3', 'd1', 'd2', 'd3'],
    dependencies: { long: [], s1: [], s2: [], s3: [], d1: ['s1'], d2: ['s2'], d3: ['s3'] } as Record<string, string[]>,
  },
  durationMs: { long: 2000, s1: 200, s2: 200, s3: 200, d1: 200, d2: 200, d3: 200 } as Record<string, number>,
};

const byId = (tasks: RunRecordTask[]): Map<string, RunRecordTask> => new Map(tasks.map((t) => [t.id.split(':')[0] as string, t]));

describe('critical-path scheduling with learned durations, through nx run-many', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspaceWith((root) => generateTimedWorkspace(root, unequal));
  });
  afterAll(() => ws.remove());

  it('a second run orders better than the first from the durations the first recorded', () => {
    const first = ws.nx(['run-many', '-t', 'build', '--parallel=2', '--skip-nx-cache']);
    expect(first.code, first.output).toBe(0);
    const cold = byId(ws.lastRun().tasks);
    const longCold = cold.get('long')!;
    for (const task of cold.values()) expect(longCold.startMs, task.id).toBeGreaterThanOrEqual(task.startMs);
    expect(longCold.estimateMs).toBe(1000);

    const timings = JSON.parse(readFileSync(join(ws.root, '.stride', 'timings.json'), 'utf8')) as { tasks: Record<string, { ms: number; bytes?: number }> };
    expect(timings.tasks['long:build']!.ms).toBeGreaterThanOrEqual(2000);
    // Each task's own input bytes (the files of its project) are recorded with its time.
    const projectBytes = readdirSync(join(ws.root, 'libs', 'long')).reduce((sum, name) => sum + statSync(join(ws.root, 'libs', 'long', name)).size, 0);
    expect(timings.tasks['long:build']!.bytes).toBe(projectBytes);
    expect(Object.keys(timings.tasks).sort()).toEqual(unequal.dag.ids.map((id) => `${id}:build`).sort());

    const second = ws.nx(['run-many', '-t', 'build', '--parallel=2', '--skip-nx-cache']);
    expect(second.code, second.output).toBe(0);
    const record = ws.lastRun();
    const warm = byId(record.tasks);
    const longWarm = warm.get('long')!;
    for (const task of warm.values()) expect(longWarm.startMs, task.id).toBeLessThanOrEqual(task.startMs);
    expect(longWarm.estimateMs).toBe(timings.tasks['long:build']!.ms);
    expect(record.criticalPath.predicted.ids).toEqual(['long:build']);
    expect(record.criticalPath.actual.ids).toEqual(['long:build']);

    // One slot: long goes first and a 0.2 s chain ends last, but the chain that bounds the run is still long (issue 22).
    const serial = ws.nx(['run-many', '-t', 'build', '--parallel=1', '--skip-nx-cache']);
    expect(serial.code, serial.output).toBe(0);
    const serialRecord = ws.lastRun();
    const lastToEnd = [...serialRecord.tasks].sort((a, b) => b.endMs - a.endMs)[0]!;
    expect(lastToEnd.id).not.toBe('long:build');
    expect(serialRecord.criticalPath.actual.ids).toEqual(['long:build']);
    expect(serial.stdout).toMatch(/Critical path [\d.]+s: long:build [\d.]+s\n/);
  });

  it('an unknown task is estimated as the median of the same target in other projects', () => {
    ws.write('libs/fresh/project.json', JSON.stringify({ name: 'fresh', root: 'libs/fresh', targets: { build: { executor: '@stride/nx:run', options: { command: 'true' } } } }));
    const timings = JSON.parse(readFileSync(join(ws.root, '.stride', 'timings.json'), 'utf8')) as { tasks: Record<string, { ms: number }> };
    const known = Object.values(timings.tasks).map((t) => t.ms).sort((a, b) => a - b);
    expect(known).toHaveLength(7);
    const result = ws.nx(['run-many', '-t', 'build', '--projects=fresh', '--skip-nx-cache']);
    expect(result.code, result.output).toBe(0);
    expect(byId(ws.lastRun().tasks).get('fresh')!.estimateMs).toBe(known[3]);
  });

  it('a new task with large inputs is estimated above the median once the target history shows size predicts time', () => {
    // `long` (2 s) now has 200 kB of inputs, the short tasks a few hundred bytes: size predicts time.
    ws.write('libs/long/data.txt', 'x'.repeat(200_000));
    const relearn = ws.nx(['run-many', '-t', 'build', '--projects=long', '--skip-nx-cache']);
    expect(relearn.code, relearn.output).toBe(0);
    const timings = JSON.parse(readFileSync(join(ws.root, '.stride', 'timings.json'), 'utf8')) as { tasks: Record<string, { ms: number; bytes?: number }> };
    expect(timings.tasks['long:build']!.bytes).toBeGreaterThan(200_000);
    const known = Object.values(timings.tasks).map((t) => t.ms).sort((a, b) => a - b);
    const median = known.length % 2 ? known[known.length >> 1]! : Math.round((known[known.length / 2 - 1]! + known[known.length / 2]!) / 2);

    ws.write('libs/big/project.json', JSON.stringify({ name: 'big', root: 'libs/big', targets: { build: { executor: '@stride/nx:run', options: { command: 'true' } } } }));
    ws.write('libs/big/data.txt', 'y'.repeat(200_000));
    const result = ws.nx(['run-many', '-t', 'build', '--projects=big', '--skip-nx-cache']);
    expect(result.code, result.output).toBe(0);
    const estimate = byId(ws.lastRun().tasks).get('big')!.estimateMs;
    // Well above the median, and never beyond four times it (size is only a proxy for work).
    expect(estimate).toBeGreaterThan(2 * median);
    expect(estimate).toBeLessThanOrEqual(4 * median);
  });
});

describe('retries, timeout and --nxBail as executor options', () => {
  let ws: TestWorkspace;
  const setCommand = (project: string, options: Record<string, unknown>): void =>
    ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>(`libs/${project}/project.json`, (p) => {
      p.targets.build.options = options;
      return p;
    });

  beforeAll(() => {
    const graph = {
      dag: { ids: ['a', 'b', 'bad', 'c'], dependencies: {} as Record<string, string[]> },
      durationMs: { a: 100, b: 100, bad: 100, c: 100 } as Record<string, number>,
    };
    ws = createWorkspaceWith((root) => generateTimedWorkspace(root, graph));
  });
  afterAll(() => ws.remove());

  it('a task that fails once and then succeeds passes on a retry and is marked flaky', () => {
    setCommand('a', { command: 'test -f .tried || { touch .tried; echo first try fails; exit 1; }', retries: 2, retryDelay: '50ms' });
    const result = ws.nx(['run-many', '-t', 'build', '--projects=a', '--output-style=static']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('first try fails');
    expect(result.output).toMatch(/a:build failed \(attempt 1 of 3\); retrying/);
    expect(ws.lastRun().tasks[0]).toMatchObject({ id: 'a:build', status: 'success', attempts: 2, flaky: true });
  });

  it('a deterministic failure still fails the run after every retry', () => {
    setCommand('bad', { command: 'echo always broken; exit 2', retries: 1, retryDelay: 10 });
    const result = ws.nx(['run-many', '-t', 'build', '--projects=bad', '--output-style=static']);
    expect(result.code).not.toBe(0);
    expect(ws.lastRun().tasks[0]).toMatchObject({ id: 'bad:build', status: 'failure', attempts: 2, flaky: false });
  });

  it('a task over its timeout is killed and fails with a message that says so', () => {
    setCommand('b', { command: 'sleep 30', timeout: '1s' });
    const started = Date.now();
    const result = ws.nx(['run-many', '-t', 'build', '--projects=b', '--output-style=static']);
    expect(result.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(result.output).toContain('b:build timed out after 1s (its "timeout" option) and was killed with its child processes');
    setCommand('b', { command: 'sleep 0.1', timeout: 'soon' });
    const bad = ws.nx(['run-many', '-t', 'build', '--projects=b', '--output-style=static']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('setting: options.timeout = "soon"');
  });

  it('without --nxBail the other tasks run; with it, nothing new starts after the first failure', () => {
    setCommand('b', { command: 'sleep 0.1' });
    const carryOn = ws.nx(['run-many', '-t', 'build', '--parallel=1', '--skip-nx-cache']);
    expect(carryOn.code).not.toBe(0);
    expect(byId(ws.lastRun().tasks).get('c')?.status).toBe('success');
    // With no history every estimate is equal and ties go by id (a, b, bad, c): c comes after the failure.
    rmSync(join(ws.root, '.stride', 'timings.json'), { force: true });
    const bail = ws.nx(['run-many', '-t', 'build', '--parallel=1', '--skip-nx-cache', '--nxBail']);
    expect(bail.code).not.toBe(0);
    const tasks = byId(ws.lastRun().tasks);
    expect(tasks.get('bad')?.status).toBe('failure');
    expect(tasks.get('c')?.status).toBe('skipped');
    // Nothing started after the failure.
    for (const task of tasks.values()) if (task.status !== 'skipped') expect(task.startMs, task.id).toBeLessThanOrEqual(tasks.get('bad')!.endMs);
    expect(existsSync(join(ws.root, 'libs', 'a', '.tried'))).toBe(true);
  });
});
