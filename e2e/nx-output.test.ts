import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

type Started = Awaited<ReturnType<typeof startS3WithProxy>>;

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', STRIDE_REMOTE_SCOPE: 'trusted' };

/**
 * Issue 19, item 10: a task Stride restores is shown and counted by Nx as a
 * cache hit, in Nx's own words: `[local cache]` / `[remote cache]` on its
 * heading, "Nx read the output from the cache ..." and "Cache: n/n hit" in
 * Nx's summary, which scripts and people rely on.
 */
describe("Nx's terminal output tells a restore from a run", () => {
  let server: Started;
  let a: TestWorkspace;
  let b: TestWorkspace;

  beforeAll(async () => {
    server = await startS3WithProxy();
    a = createWorkspace({ projects: 3, width: 3 });
    b = createWorkspace({ projects: 3, width: 3 });
    for (const ws of [a, b]) {
      ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
        ...nx,
        plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: server.s3.bucket, endpoint: server.s3.endpoint, forcePathStyle: true } } }],
      }));
    }
  });
  afterAll(async () => {
    a.remove();
    b.remove();
    await server.stop();
  });

  const build = (ws: TestWorkspace, args: string[] = []) => ws.nxAsync(['run-many', '-t', 'build', '--output-style=static', ...args], AWS_ENV);
  const headings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('> nx run ')).map((line) => line.trim()).sort();

  it('a cold run: every task ran, no cache tag, 0 hits', async () => {
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    expect(headings(result.stdout)).toEqual(['> nx run lib00:build', '> nx run lib01:build', '> nx run lib02:build']);
    expect(result.stdout).toMatch(/Cache:\s+0\/3 hit \(0%\)/);
    expect(result.stdout).not.toContain('Nx read the output from the cache');
  });

  it('restores from the local store are [local cache] hits in Nx\'s summary', async () => {
    rmSync(join(a.root, 'libs/lib01/dist'), { recursive: true });
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    expect(a.buildLog()).toHaveLength(3);
    expect(headings(result.stdout)).toEqual(['> nx run lib00:build  [local cache]', '> nx run lib01:build  [local cache]', '> nx run lib02:build  [local cache]']);
    expect(result.stdout).toContain('Nx read the output from the cache instead of running the command for 3 out of 3 tasks.');
    expect(result.stdout).toMatch(/Cache:\s+3\/3 hit \(100%\)/);
  });

  it("restores from the bucket on a fresh machine are [remote cache] hits; what ran is not a hit", async () => {
    b.write('libs/lib02/src/index.js', 'export const changed = true;\n');
    const result = await build(b);
    expect(result.code, result.output).toBe(0);
    expect(b.buildLog().map((line) => line.split(' ')[0])).toEqual(['lib02']);
    expect(headings(result.stdout)).toEqual(['> nx run lib00:build  [remote cache]', '> nx run lib01:build  [remote cache]', '> nx run lib02:build']);
    expect(result.stdout).toContain('Nx read the output from the cache instead of running the command for 2 out of 3 tasks.');
    expect(result.stdout).toMatch(/Cache:\s+2\/3 hit \(67%\)/);
  });

  it('a failed task is a failure, never a hit', async () => {
    b.write('libs/lib00/src/index.js', 'throw new Error("broken");\n');
    b.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/lib00/project.json', (p) => {
      p.targets.build.options = { ...p.targets.build.options, command: 'node -e "process.exit(3)"' };
      return p;
    });
    const result = await build(b, ['--projects=lib00']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toMatch(/\[(local|remote) cache\]/);
    expect(result.output).toMatch(/Failed tasks:\s+- lib00:build/);
  });
});
