import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 19, item 9: Nx's own cache settings mean the same under Stride.
 * `nx reset`, `maxCacheSize` (nx.json) / `NX_MAX_CACHE_SIZE`, and `cache: false`
 * are held against plain Nx on the same workspace, counting real executions.
 */
function storeEntries(ws: TestWorkspace): string[] {
  const dir = join(ws.root, '.stride', 'cache');
  let shards: string[] = [];
  try {
    shards = readdirSync(dir).filter((name) => name.length === 2);
  } catch {
    return [];
  }
  return shards.flatMap((shard) => readdirSync(join(dir, shard))).sort();
}

function entryBytes(ws: TestWorkspace, hash: string): number {
  const dir = join(ws.root, '.stride', 'cache', hash.slice(0, 2), hash);
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

describe("Nx's cache settings, under Stride as under Nx", () => {
  let stride: TestWorkspace;
  let nx: TestWorkspace;
  let nxCache: string;
  let strideNxCache: string;

  /** Builds in both copies; returns how many builds each really ran. */
  const both = (args: string[] = [], env: NodeJS.ProcessEnv = {}): { byNx: number; byStride: number } => {
    const ran = (ws: TestWorkspace, cacheDir: string): number => {
      const before = ws.buildLog().length;
      const result = ws.nx(['run-many', '-t', 'build', ...args], { NX_CACHE_DIRECTORY: cacheDir, ...env });
      expect(result.code, result.output).toBe(0);
      return ws.buildLog().length - before;
    };
    return { byNx: ran(nx, nxCache), byStride: ran(stride, strideNxCache) };
  };

  beforeAll(() => {
    stride = createWorkspace({ projects: 4, width: 2 });
    nx = createWorkspace({ projects: 4, width: 2, stride: false });
    nxCache = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
    strideNxCache = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
  });
  afterAll(() => {
    stride.remove();
    nx.remove();
    for (const dir of [nxCache, strideNxCache]) rmSync(dir, { recursive: true, force: true });
  });

  it('cold, then fully cached: the same work', () => {
    expect(both()).toEqual({ byNx: 4, byStride: 4 });
    expect(both()).toEqual({ byNx: 0, byStride: 0 });
  });

  it('`nx reset` resets Stride too: the next run builds everything, in both', () => {
    for (const [ws, dir] of [[nx, nxCache], [stride, strideNxCache]] as const) {
      const reset = ws.nx(['reset'], { NX_CACHE_DIRECTORY: dir });
      expect(reset.code, reset.output).toBe(0);
    }
    const result = stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: strideNxCache });
    expect(result.stdout).toContain("Stride: Nx's cache was reset since the last run");
    const byNx = (() => {
      const before = nx.buildLog().length;
      expect(nx.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: nxCache }).code).toBe(0);
      return nx.buildLog().length - before;
    })();
    expect(byNx).toBe(4);
    expect(stride.lastRun().tasks.map((t) => t.cache)).toEqual(['miss', 'miss', 'miss', 'miss']);
    // And only once: the run after that is fully cached again.
    expect(both()).toEqual({ byNx: 0, byStride: 0 });
  });

  it('`nx reset --only-cache` counts too', () => {
    const reset = stride.nx(['reset', '--only-cache'], { NX_CACHE_DIRECTORY: strideNxCache });
    expect(reset.code, reset.output).toBe(0);
    const before = stride.buildLog().length;
    expect(stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: strideNxCache }).code).toBe(0);
    expect(stride.buildLog().length - before).toBe(4);
  });

  it('a moved Nx cache folder is not a reset: nothing cached is dropped', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
    try {
      const before = stride.buildLog().length;
      const result = stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: elsewhere });
      expect(result.code, result.output).toBe(0);
      expect(stride.buildLog().length - before).toBe(0);
      expect(result.stdout).not.toContain('was reset');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('maxCacheSize in nx.json (and NX_MAX_CACHE_SIZE) bounds the local store after a run', () => {
    const [first] = storeEntries(stride);
    // Room for two and a half entries: the least recently used go first.
    const limit = Math.floor(entryBytes(stride, first as string) * 2.5);
    stride.updateJson<Record<string, unknown>>('nx.json', (json) => ({ ...json, maxCacheSize: `${limit}` }));
    for (const project of stride.graph.projects) stride.write(`libs/${project}/src/index.js`, `export const changed = '${project}';\n`);
    const result = stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: strideNxCache });
    expect(result.code, result.output).toBe(0);
    const kept = storeEntries(stride);
    expect(kept).toHaveLength(2);
    const built = stride.lastRun().tasks.map((t) => t.hash);
    for (const hash of kept) expect(built).toContain(hash);
    // The variable wins over nx.json, as in Nx: a generous limit keeps every entry of the next run.
    for (const project of stride.graph.projects) stride.write(`libs/${project}/src/index.js`, `export const again = '${project}';\n`);
    expect(stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: strideNxCache, NX_MAX_CACHE_SIZE: '10MB' }).code).toBe(0);
    expect(storeEntries(stride).length).toBeGreaterThanOrEqual(4);
    stride.updateJson<Record<string, unknown>>('nx.json', ({ maxCacheSize: _dropped, ...json }) => json);
  });

  it('a bad maxCacheSize names the setting, the value and the fix', () => {
    const saved = stride.read('nx.json');
    stride.updateJson<Record<string, unknown>>('nx.json', (json) => ({ ...json, plugins: [{ plugin: '@stride/nx', options: { maxCacheSize: 'lots' } }] }));
    const result = stride.nx(['run-many', '-t', 'build'], { NX_CACHE_DIRECTORY: strideNxCache });
    stride.write('nx.json', saved);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/plugins\[@stride\/nx\]\.options\.maxCacheSize[\s\S]*lots[\s\S]*10GB/);
  });

  it('"cache": false runs the task every time and stores nothing for it, as Nx does', () => {
    // The tests above edited the Stride copy's nx.json (hashed into every task): settle both copies first.
    both();
    stride.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/lib00/project.json', (p) => {
      p.targets.build.options = { ...p.targets.build.options, cache: false };
      return p;
    });
    nx.updateJson<{ targets: { build: Record<string, unknown> } }>('libs/lib00/project.json', (p) => {
      p.targets.build = { ...p.targets.build, cache: false };
      return p;
    });
    // The edit to project.json re-runs lib00 and what depends on it, in both; from then on lib00 alone runs.
    const edited = both();
    expect(edited.byStride).toBe(edited.byNx);
    expect(both()).toEqual({ byNx: 1, byStride: 1 });
    const lib00 = stride.lastRun().tasks.find((t) => t.id === 'lib00:build');
    expect(lib00?.cache).toBe('miss');
    expect(storeEntries(stride)).not.toContain(lib00?.hash);
  });
});
