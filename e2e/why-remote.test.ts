import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Server } from '../tools/s3/server.mjs';
import { startS3Server } from '../tools/s3/server.mjs';
import { s3Client, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace, withDependants } from './support/workspace.js';

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
const latestKey = (taskId: string): string => `stride/trusted/why/latest/${createHash('sha256').update(taskId).digest('hex').slice(0, 32)}.json`;

/**
 * Issue 22: a miss on a fresh CI machine explained against what main built, from the hash records main's run put
 * in the bucket next to its artifacts; and those records are untrusted when read back. Both machines in the default
 * mode (Nx's cache in front), each with its own Nx cache.
 */
describe('stride why against the bucket: a pull request on a fresh machine, compared with main', () => {
  let s3: S3Server;
  let client: S3Client;
  let main: TestWorkspace;
  let pr: TestWorkspace;
  const nxCaches: string[] = [];
  const envOf = new Map<TestWorkspace, NodeJS.ProcessEnv>();

  const keys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const put = (key: string, value: unknown) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: typeof value === 'string' ? value : JSON.stringify(value) }));
  const build = async (ws: TestWorkspace): Promise<string> => {
    const result = await ws.nxAsync(['run-many', '-t', 'build'], envOf.get(ws));
    expect(result.code, result.output).toBe(0);
    return result.stdout;
  };
  const why = (ws: TestWorkspace, task: string): { code: number; lines: string[]; stdout: string } => {
    const result = ws.stride(['why', task], envOf.get(ws));
    return { code: result.code, lines: result.stdout.trimEnd().split('\n'), stdout: result.stdout };
  };
  const missLine = (stdout: string): string | undefined => stdout.split('\n').find((line) => / miss(es)?(:| \()/.test(line) && !line.startsWith('Stride:'));
  const localRecord = (ws: TestWorkspace, task: string): { hash: string; fileSets: Record<string, string> } => {
    const index = JSON.parse(ws.read('.stride/why/index.json')) as Record<string, Array<{ hash: string }>>;
    return JSON.parse(ws.read(`.stride/why/tasks/${index[task]?.[0]?.hash}.json`)) as { hash: string; fileSets: Record<string, string> };
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3Client(s3.endpoint);
    main = createWorkspace({ projects: 4, width: 2, nxCacheInFront: true });
    pr = createWorkspace({ projects: 4, width: 2, nxCacheInFront: true });
    for (const [ws, scope] of [[main, 'trusted'], [pr, 'pr-7']] as const) {
      ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true } } }] }));
      const nxCache = mkdtempSync(join(tmpdir(), 'stride-e2e-nxcache-'));
      nxCaches.push(nxCache);
      envOf.set(ws, { ...AWS_ENV, STRIDE_REMOTE_SCOPE: scope, NX_CACHE_DIRECTORY: nxCache });
    }
  });
  afterAll(async () => {
    client.destroy();
    main.remove();
    pr.remove();
    for (const dir of nxCaches) rmSync(dir, { recursive: true, force: true });
    await s3.stop();
  });

  it('main\'s cold run puts a record per task next to its artifacts, each file set once, and a pointer per task', async () => {
    await build(main);
    expect(await keys('stride/trusted/why/tasks/')).toHaveLength(4);
    expect(await keys('stride/trusted/why/latest/')).toEqual(main.graph.projects.map((p) => latestKey(`${p}:build`)).sort());
    // One project's files feed its own task and its dependants' (^production): one object per distinct set.
    const sets = new Set(main.graph.projects.flatMap((p) => Object.values(localRecord(main, `${p}:build`).fileSets)));
    expect(await keys('stride/trusted/why/files/')).toHaveLength(sets.size);
  });

  it('the PR\'s fresh machine: its summary names the cause against main\'s records, and stride why prints the changed file', async () => {
    pr.write('libs/lib00/src/util.js', 'export const changedInThePr = 1;\n');
    const stdout = await build(pr);
    const missed = withDependants(pr.graph, 'lib00');
    expect(missLine(stdout)).toBe(`${missed.length} misses: ${missed.length} from libs/lib00/src/util.js (npx stride why <task> for one)`);
    const dependant = `${missed.find((p) => p !== 'lib00')}:build`;
    const { code, lines } = why(pr, dependant);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(new RegExp(`^${dependant}: [0-9a-f]+ \\(built [0-9-]+ [0-9:]+\\) against [0-9a-f]+ \\(built [0-9-]+ [0-9:]+ in the bucket \\(trusted/, what main built\\)\\)$`));
    expect(lines.slice(1)).toEqual(['  libs/lib00/src/util.js changed']);
    // Its own records went to its own scope, never to trusted/.
    expect((await keys('stride/scopes/pr-7/why/tasks/')).length).toBe(missed.length);
    expect(await keys('stride/trusted/why/tasks/')).toHaveLength(4);
  });

  it('another fresh machine asks before its first run: the task is hashed as its checkout is, against main\'s record', () => {
    const fresh = createWorkspace({ projects: 4, width: 2, nxCacheInFront: true });
    try {
      fresh.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true } } }] }));
      envOf.set(fresh, { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'pr-8' });
      fresh.write('libs/lib01/src/util.js', 'export const askedBeforeTheRun = 1;\n');
      const { code, lines } = why(fresh, 'lib02:build');
      expect(code).toBe(0);
      expect(lines[0]).toMatch(/^lib02:build: [0-9a-f]+ \(not built yet\) against [0-9a-f]+ \(built [0-9-]+ [0-9:]+ in the bucket \(trusted\/, what main built\)\)$/);
      expect(lines.slice(1)).toEqual(['  libs/lib01/src/util.js changed']);
    } finally {
      fresh.remove();
    }
  });

  it('crafted records in trusted/ (an over-wide policy): escaped file names, wrong shapes and huge objects say less, never crash or forge a line', async () => {
    // lib03: a record of a made-up hash whose file list names a file with terminal escapes and a CI annotation.
    const mine = localRecord(pr, 'lib03:build');
    const [label] = Object.keys(mine.fileSets).filter((l) => l.startsWith('lib03:'));
    await put(latestKey('lib03:build'), { taskId: 'lib03:build', hashes: [{ hash: 'ffffffffffffffff', at: 1 }] });
    await put('stride/trusted/why/tasks/ffffffffffffffff.json', { format: 1, taskId: 'lib03:build', hash: 'ffffffffffffffff', at: 1, runner: '@stride/nx:run', options: '{}', fileSets: { ...mine.fileSets, [label as string]: 'eeeeeeeeeeeeeeee' }, values: {} });
    await put('stride/trusted/why/files/eeeeeeeeeeeeeeee.json', [['libs/lib03/src/\u001b[2J\n::error::pwned', '00']]);
    const evil = why(pr, 'lib03:build');
    expect(evil.code).toBe(0);
    expect(evil.stdout).not.toContain('\u001b');
    expect(evil.lines.some((line) => line.startsWith('::error'))).toBe(false);
    expect(evil.stdout).toContain('libs/lib03/src/\\x1b[2J\\n::error::pwned removed');

    // lib01: its pointer names a record of the wrong shape and one over the size cap: nothing to compare with.
    await put(latestKey('lib01:build'), { taskId: 'lib01:build', hashes: [{ hash: 'aaaaaaaaaaaaaaaa', at: 2 }, { hash: 'bbbbbbbbbbbbbbbb', at: 1 }] });
    await put('stride/trusted/why/tasks/aaaaaaaaaaaaaaaa.json', { format: 1, taskId: 7, hash: 'aaaaaaaaaaaaaaaa' });
    await put('stride/trusted/why/tasks/bbbbbbbbbbbbbbbb.json', `{"format":1,"pad":"${'x'.repeat(1_100_000)}"}`);
    const bad = why(pr, 'lib01:build');
    expect(bad.code).toBe(0);
    expect(bad.lines).toEqual([expect.stringMatching(/^lib01:build: no earlier build to compare with \(only [0-9a-f]+ is on record, here and in the bucket\)$/)]);
  });
});
