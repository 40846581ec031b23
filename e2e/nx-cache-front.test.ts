import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace, withDependants } from './support/workspace.js';

type Started = Awaited<ReturnType<typeof startS3WithProxy>>;

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', STRIDE_REMOTE_SCOPE: 'trusted' };
const outputs = (ws: TestWorkspace): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);
const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));
/** Entries (`<hash[0..2]>/<hash>/`) in a store folder, and anything in its temp folder. */
const entriesIn = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => readdirSync(join(dir, name)).map((inner) => `${name}/${inner}`));
};
/** Stride's own local store: nothing may appear there in "nx" mode. */
const storeEntries = (ws: TestWorkspace): string[] => entriesIn(join(ws.root, '.stride/cache'));
/** The transit folder: results are packed there for upload only, and removed once uploaded. */
const transitEntries = (ws: TestWorkspace): string[] => entriesIn(join(ws.root, '.stride/transit'));
const runRecordTime = (ws: TestWorkspace): number | undefined => {
  const file = join(ws.root, '.stride/runs/last.json');
  return existsSync(file) ? statSync(file).mtimeMs : undefined;
};

/**
 * `localCache: "nx"`: Nx's own local cache in front of the batch, Stride for
 * the misses and the remote. Each workspace gets its own Nx cache folder
 * (Nx 24 shares one per user between checkouts of the same history).
 */
describe('localCache "nx": Nx\'s local cache in front, the S3 remote behind the batch', () => {
  let server: Started;
  let a: TestWorkspace;
  let b: TestWorkspace;
  const nxCacheOf = new Map<TestWorkspace, string>();
  let expected: Record<string, string>;

  const setUp = (ws: TestWorkspace): void => {
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { localCache: 'nx', remote: { bucket: server.s3.bucket, endpoint: server.proxy.endpoint, forcePathStyle: true, timeoutMs: 1500 } } }],
    }));
    nxCacheOf.set(ws, mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-')));
    // The generated workspace has Nx's cache off for build (the "stride" mode): init migrates it.
    const init = ws.nx(['g', '@stride/nx:init', '--no-interactive']);
    expect(init.code, init.output).toBe(0);
  };
  const build = (ws: TestWorkspace) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, NX_CACHE_DIRECTORY: nxCacheOf.get(ws) });
  const clearLog = (ws: TestWorkspace): void => rmSync(join(ws.root, 'build-log.txt'), { force: true });
  const built = (ws: TestWorkspace): string[] => ws.buildLog().map((line) => line.split(' ')[0] as string).sort();

  beforeAll(async () => {
    server = await startS3WithProxy();
    a = createWorkspace({ projects: 6, width: 3 });
    b = createWorkspace({ projects: 6, width: 3 });
  });
  afterAll(async () => {
    for (const ws of [a, b]) {
      ws.remove();
      const dir = nxCacheOf.get(ws);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    await server.stop();
  });

  it('init, run again in "nx" mode, turns Nx\'s cache on for the Stride targets', () => {
    setUp(a);
    const nxJson = JSON.parse(a.read('nx.json')) as { targetDefaults: Record<string, { cache?: boolean }> };
    expect(nxJson.targetDefaults['build']?.cache).toBe(true);
  });

  it('a cold run builds every task, uploads each, and keeps nothing in .stride/cache (nor what a killed run left in transit)', async () => {
    // An entry a killed run staged two days ago and never uploaded.
    a.write('.stride/transit/ab/abcdef0123456789/meta.json', '{}\n');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    utimesSync(join(a.root, '.stride/transit/ab/abcdef0123456789'), twoDaysAgo, twoDaysAgo);
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    expect(built(a)).toEqual([...a.graph.projects].sort());
    expect(a.lastRun().tasks.map((t) => t.cache)).toEqual(Array(6).fill('miss'));
    expect(a.lastRun().remote).toMatchObject({ uploads: 6, hits: 0, refused: 0 });
    expect(strideWarnings(result.stdout)).toEqual([]);
    expect(storeEntries(a)).toEqual([]);
    expect(transitEntries(a)).toEqual([]);
    expected = a.digest(outputs(a));
  });

  it('a second run is all Nx local hits: no batch is forked, no build runs, the outputs stay', async () => {
    clearLog(a);
    const recordBefore = runRecordTime(a);
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    expect(a.buildLog()).toEqual([]);
    expect(result.stdout.match(/\[(existing outputs|local cache)\]/g) ?? []).toHaveLength(6);
    // The batch writes a run record whenever it runs: none was written.
    expect(runRecordTime(a)).toBe(recordBefore);
    expect(a.digest(outputs(a))).toEqual(expected);
  });

  it('with one leaf edited, only it and its dependants reach the batch and run', async () => {
    clearLog(a);
    a.write('libs/lib00/src/index.js', 'export const edited = true;\n');
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    const dependants = withDependants(a.graph, 'lib00');
    expect(dependants.length).toBeLessThan(6);
    expect(built(a)).toEqual(dependants);
    // Nx restored the rest itself: the batch saw only the misses.
    expect(a.lastRun().tasks.map((t) => t.id.split(':')[0]).sort()).toEqual(dependants);
    expect(a.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
    expect(storeEntries(a)).toEqual([]);
    expected = a.digest(outputs(a));
  });

  it('a fresh checkout (its own Nx cache, no outputs) gets every task from the remote, byte for byte', async () => {
    setUp(b);
    b.write('libs/lib00/src/index.js', 'export const edited = true;\n');
    const result = await build(b);
    expect(result.code, result.output).toBe(0);
    expect(b.buildLog()).toEqual([]);
    expect(b.lastRun().tasks.map((t) => t.cache)).toEqual(Array(6).fill('remote'));
    expect(b.lastRun().remote).toMatchObject({ hits: 6, refused: 0 });
    expect(b.digest(outputs(b))).toEqual(expected);
    expect(strideWarnings(result.stdout)).toEqual([]);
    expect(storeEntries(b)).toEqual([]);
    expect(transitEntries(b)).toEqual([]);
  });

  it('Nx stored what the batch restored from the remote: the next run there is all Nx local hits', async () => {
    const recordBefore = runRecordTime(b);
    for (const path of outputs(b)) rmSync(join(b.root, path), { recursive: true, force: true });
    const result = await build(b);
    expect(result.code, result.output).toBe(0);
    expect(b.buildLog()).toEqual([]);
    expect(runRecordTime(b)).toBe(recordBefore);
    expect(b.digest(outputs(b))).toEqual(expected);
  });

  it('NX_CACHE_FAILURES=true: Nx caches the failure the batch yields and replays it as a failure, without running it', async () => {
    // A build that fails after leaving a mark for every time it really ran.
    const command = `node -e "require('fs').appendFileSync('../../failures.txt', 'ran\\n'); console.error('lib05 failed on purpose'); process.exit(3)"`;
    b.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/lib05/project.json', (project) => {
      project.targets.build.options = { ...project.targets.build.options, command };
      return project;
    });
    const runs = (): number => (existsSync(join(b.root, 'failures.txt')) ? b.read('failures.txt').split('\n').filter(Boolean).length : 0);
    const env = { ...AWS_ENV, NX_CACHE_DIRECTORY: nxCacheOf.get(b), NX_CACHE_FAILURES: 'true' };
    const first = await b.nxAsync(['run', 'lib05:build'], env);
    expect(first.code).not.toBe(0);
    expect(runs()).toBe(1);
    const again = await b.nxAsync(['run', 'lib05:build'], env);
    expect(again.code).not.toBe(0);
    expect(again.output).toContain('lib05 failed on purpose');
    // Replayed from Nx's cache: the command did not run a second time.
    expect(runs()).toBe(1);
  });
});

describe('localCache "nx" on a workspace whose Nx cache is still off (init not run again)', () => {
  let c: TestWorkspace;
  let nxCache: string;
  beforeAll(() => {
    c = createWorkspace({ projects: 2, width: 2 });
    nxCache = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
  });
  afterAll(() => {
    c.remove();
    rmSync(nxCache, { recursive: true, force: true });
  });

  it('says so once, naming the tasks, the setting and the fix; nothing is cached anywhere, so the next run builds again', () => {
    const env = { STRIDE_LOCAL_CACHE: 'nx', NX_CACHE_DIRECTORY: nxCache };
    const first = c.nx(['run-many', '-t', 'build'], env);
    expect(first.code, first.output).toBe(0);
    expect(strideWarnings(first.stdout)).toEqual([
      expect.stringMatching(/Nx's own cache is off for lib00:build, lib01:build, and with localCache "nx" \(STRIDE_LOCAL_CACHE \(environment\)\) Stride keeps no local copy: .*run nx g @stride\/nx:init/),
    ]);
    expect(storeEntries(c)).toEqual([]);
    rmSync(join(c.root, 'build-log.txt'), { force: true });
    const second = c.nx(['run-many', '-t', 'build'], env);
    expect(second.code, second.output).toBe(0);
    expect(c.buildLog()).toHaveLength(2);
  });
});

/**
 * Tasks whose hash reads their dependencies' outputs (`dependentTasksOutputFiles`): Nx hashes them only once those
 * outputs exist, and its contract (task-orchestrator's batch waves) runs such a task in the same batch as the
 * dependency that missed, and looks it up after a dependency it restored: one batch process per run, none when
 * everything hits. Counted from the run records, one per batch process.
 */
describe('localCache "nx" with dependentTasksOutputFiles inputs: the batch processes Nx forks', () => {
  let d: TestWorkspace;
  let nxCache: string;
  const batches = (): string[] => (existsSync(join(d.root, '.stride/runs')) ? readdirSync(join(d.root, '.stride/runs')).filter((name) => name !== 'last.json') : []);
  const build = () => d.nxAsync(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: nxCache });
  beforeAll(() => {
    // A chain lib00 <- lib01 <- lib02, Nx's cache in front (the default mode as init sets it up).
    d = createWorkspace({ projects: 3, width: 1, nxCacheInFront: true });
    d.updateJson<{ targetDefaults: { build: { inputs: unknown[] } } }>('nx.json', (nx) => {
      nx.targetDefaults.build.inputs = [...nx.targetDefaults.build.inputs, { dependentTasksOutputFiles: '**/*.js', transitive: true }];
      return nx;
    });
    nxCache = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
  });
  afterAll(() => {
    d.remove();
    rmSync(nxCache, { recursive: true, force: true });
  });

  it('cold: one batch runs the whole chain', async () => {
    const result = await build();
    expect(result.code, result.output).toBe(0);
    expect(batches()).toHaveLength(1);
    expect(d.lastRun().tasks.map((t) => t.cache)).toEqual(['miss', 'miss', 'miss']);
  });

  it('fully cached: Nx restores the chain level by level and forks no batch', async () => {
    rmSync(join(d.root, 'build-log.txt'), { force: true });
    const result = await build();
    expect(result.code, result.output).toBe(0);
    expect(d.buildLog()).toEqual([]);
    expect(batches()).toHaveLength(1);
  });

  it('the bottom library edited: one more batch, with the whole chain (each task rehashed from the new outputs)', async () => {
    d.write('libs/lib00/src/index.js', 'export const edited = 1;\n');
    const result = await build();
    expect(result.code, result.output).toBe(0);
    expect(batches()).toHaveLength(2);
    expect(d.buildLog().map((line) => line.split(' ')[0])).toEqual(['lib00', 'lib01', 'lib02']);
  });
});
