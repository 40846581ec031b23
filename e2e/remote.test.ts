import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

type Started = Awaited<ReturnType<typeof startS3WithProxy>>;

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };

/** Points a workspace's Stride at the bucket, through the fault proxy. */
function useRemote(ws: TestWorkspace, endpoint: string, bucket: string, extra: Record<string, unknown> = {}): void {
  ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
    ...nx,
    plugins: [{ plugin: '@stride/nx', options: { remote: { bucket, endpoint, forcePathStyle: true, timeoutMs: 1500, ...extra } } }],
  }));
}

/** A fresh machine: no local store, no outputs. */
function wipe(ws: TestWorkspace): void {
  rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
  for (const project of ws.graph.projects) rmSync(join(ws.root, 'libs', project, 'dist'), { recursive: true, force: true });
}

const outputs = (ws: TestWorkspace): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);
const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));

describe('S3 remote cache: a fresh machine gets the team\'s results', () => {
  let server: Started;
  let a: TestWorkspace;
  let b: TestWorkspace;
  let expected: Record<string, string>;

  // Async: the fault proxy lives in this process, and a blocking spawn would stall it.
  const build = (ws: TestWorkspace, env: NodeJS.ProcessEnv = {}) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', ...env });

  beforeAll(async () => {
    server = await startS3WithProxy();
    a = createWorkspace({ projects: 6, width: 3 });
    b = createWorkspace({ projects: 6, width: 3 });
    for (const ws of [a, b]) useRemote(ws, server.proxy.endpoint, server.s3.bucket);
  });
  afterAll(async () => {
    a.remove();
    b.remove();
    await server.stop();
  });

  it('machine A builds cold and uploads every task under trusted/', async () => {
    const result = await build(a);
    expect(result.code, result.output).toBe(0);
    expect(a.lastRun().remote, result.stdout).toMatchObject({ uploads: 6, hits: 0, refused: 0 });
    expect(strideWarnings(result.stdout)).toEqual([]);
    const client = s3Client(server.s3.endpoint);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: server.s3.bucket, Prefix: 'stride/' }));
    client.destroy();
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    // Six artifacts, and the team's timing history beside them.
    expect(keys.filter((k) => /^stride\/trusted\/[0-9a-f]{16}\.stride$/.test(k))).toHaveLength(6);
    // Beside them, stride why's records of what it built (explain/bucket-records.ts).
    expect(keys.filter((k) => !/^stride\/trusted\/[0-9a-f]{16}\.stride$/.test(k) && !k.startsWith('stride/trusted/why/'))).toEqual(['stride/timings/trusted.json']);
    expect(keys.filter((k) => k.startsWith('stride/trusted/why/tasks/'))).toHaveLength(6);
    expected = a.digest(outputs(a));
  });

  it('machine B, with an empty store, restores every task from the remote, byte for byte, and runs nothing', async () => {
    const result = await build(b);
    expect(result.code, result.output).toBe(0);
    expect(b.buildLog()).toEqual([]);
    expect(b.lastRun().tasks.map((t) => t.cache)).toEqual(Array(6).fill('remote'));
    expect(b.digest(outputs(b))).toEqual(expected);
    // B had no history of its own: it scheduled by the durations A recorded and shared.
    const learned = JSON.parse(a.read('.stride/timings.json')) as { tasks: Record<string, { ms: number }> };
    expect(Object.fromEntries(b.lastRun().tasks.map((t) => [t.id, t.estimateMs]))).toEqual(Object.fromEntries(Object.entries(learned.tasks).map(([id, t]) => [id, t.ms])));
    // And the remote hits went into B's local store.
    rmSync(join(b.root, 'libs/lib00/dist'), { recursive: true });
    await build(b, { STRIDE_REMOTE_MODE: 'off' });
    expect(b.lastRun().tasks.map((t) => t.cache)).toEqual(Array(6).fill('local'));
  });

  it('read-only uploads nothing; write-only never downloads; off never connects', async () => {
    b.write('libs/lib02/src/index.js', "export const lib02 = 'read-only edit';\n");
    const readOnly = await build(b, { STRIDE_REMOTE_MODE: 'read-only' });
    expect(readOnly.code, readOnly.output).toBe(0);
    expect(b.lastRun().remote).toMatchObject({ uploads: 0, alreadyStored: 0 });

    wipe(b);
    const writeOnly = await build(b, { STRIDE_REMOTE_MODE: 'write-only' });
    expect(writeOnly.code, writeOnly.output).toBe(0);
    expect(b.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
    expect(b.lastRun().remote!.hits).toBe(0);

    wipe(b);
    const connections = server.proxy.connections;
    const off = await build(b, { STRIDE_REMOTE_MODE: 'off' });
    expect(off.code, off.output).toBe(0);
    expect(server.proxy.connections).toBe(connections);
    expect(b.lastRun().remote).toBeUndefined();
    b.git(['checkout', '--', 'libs/lib02/src/index.js']);
  });

  describe.each([
    ['the proxy drops every connection', { kind: 'drop' }, /unavailable|switched off/],
    ['every request is delayed past the timeout', { kind: 'delay', ms: 4000 }, /unavailable|switched off/],
    ['the server answers 500', { kind: 'status', code: 500 }, /unavailable|switched off/],
    ['the server answers 503 SlowDown', { kind: 'status', code: 503, s3Code: 'SlowDown' }, /unavailable|switched off/],
    ['a download is cut mid-stream', { kind: 'cut', afterBytes: 900 }, /unavailable|switched off|truncated/],
    ['downloads come back with flipped bytes', { kind: 'corrupt', afterBytes: 700 }, /refused|unavailable|switched off/],
  ] as const)('when %s', (_label, mode, warning) => {
    it('the build succeeds with the right outputs, one warning, and nothing bad restored', async () => {
      wipe(b);
      server.proxy.setMode(mode);
      try {
        const result = await build(b, { STRIDE_REMOTE_MODE: 'read-only' });
        expect(result.code, result.output).toBe(0);
        expect(b.digest(outputs(b))).toEqual(expected);
        const warnings = strideWarnings(result.stdout);
        expect(warnings, result.stdout).toHaveLength(1);
        expect(warnings[0]).toMatch(warning);
        expect(warnings[0]).not.toContain(TEST_CREDENTIALS.secretAccessKey);
        expect(b.lastRun().tasks.every((t) => t.status === 'success' && t.cache !== 'remote')).toBe(true);
      } finally {
        server.proxy.setMode({ kind: 'pass' });
      }
    });
  });

  it('the server stopped: the build succeeds locally with one warning', async () => {
    wipe(b);
    await server.s3.stop();
    const result = await build(b);
    expect(result.code, result.output).toBe(0);
    expect(b.digest(outputs(b))).toEqual(expected);
    expect(strideWarnings(result.stdout)).toHaveLength(1);
    expect(b.lastRun().remote!.switchedOff || strideWarnings(result.stdout)[0]!.includes('unavailable')).toBe(true);
  });
});

describe('bad remote settings are refused before any task runs', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspace({ projects: 2 });
  });
  afterAll(() => ws.remove());

  it.each([
    [{ bucket: 'Bad_Bucket' }, {}, /"Bad_Bucket" is not a bucket name S3 accepts[\s\S]*setting: plugins\[@stride\/nx\]\.options\.remote\.bucket/],
    [{ bucket: 'ok-bucket', endpoint: 'not a url' }, {}, /is not an http\(s\) URL/],
    [{ bucket: 'ok-bucket', endpoint: 'http://cache.example.com' }, {}, /refusing plain HTTP to cache\.example\.com[\s\S]*fix: use https/],
    [{ bucket: 'ok-bucket' }, { STRIDE_REMOTE_MODE: 'readonly' }, /invalid remote mode "readonly"[\s\S]*STRIDE_REMOTE_MODE \(environment\)[\s\S]*read-write, read-only, write-only, off/],
    [{ bucket: 'ok-bucket', signingKey: 'abc' }, {}, /"signingKey" looks like a secret, and secrets never live in nx\.json/],
  ])('%j %j', (remote, env, message) => {
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options: { remote } }] }));
    const result = ws.nx(['run-many', '-t', 'build'], env);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(message);
    expect(ws.buildLog()).toEqual([]);
  });
});

describe('large artifacts', () => {
  let server: Started;
  let a: TestWorkspace;
  let b: TestWorkspace;
  const BIG = 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'dist/big.bin\', require(\'crypto\').randomBytes(20 * 1024 * 1024))"';

  beforeAll(async () => {
    server = await startS3WithProxy();
    a = createWorkspace({ projects: 1 });
    b = createWorkspace({ projects: 1 });
    for (const ws of [a, b]) {
      useRemote(ws, server.s3.endpoint, server.s3.bucket, { timeoutMs: 10_000 });
      ws.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib00/project.json', (p) => {
        p.targets.build.options.command = BIG;
        return p;
      });
    }
  });
  afterAll(async () => {
    a.remove();
    b.remove();
    await server.stop();
  });

  it('go up in parts and come back byte for byte on another machine', async () => {
    const env = { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted' };
    const up = await a.nxAsync(['run-many', '-t', 'build'], env);
    expect(up.code, up.output).toBe(0);
    expect(a.lastRun().remote).toMatchObject({ uploads: 1 });
    expect(a.lastRun().remote!.uploadBytes).toBeGreaterThan(20 * 1024 * 1024);
    const down = await b.nxAsync(['run-many', '-t', 'build'], env);
    expect(down.code, down.output).toBe(0);
    expect(b.lastRun().tasks[0]!.cache).toBe('remote');
    expect(b.digest(['libs/lib00/dist'])).toEqual(a.digest(['libs/lib00/dist']));
  });

  it('over remote.maxArtifactSize: refused, and the task runs', async () => {
    useRemote(b, server.s3.endpoint, server.s3.bucket, { timeoutMs: 10_000, maxArtifactSize: 1024 * 1024 });
    rmSync(join(b.root, '.stride'), { recursive: true, force: true });
    const result = await b.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_REMOTE_MODE: 'read-only' });
    expect(result.code, result.output).toBe(0);
    expect(b.lastRun().tasks[0]!.cache).toBe('miss');
    expect(result.stdout).toMatch(/Stride warning: refused a remote object.*over the 1048576-byte limit/);
  });
});

describe('client-side encryption (STRIDE_ENCRYPTION_KEY)', () => {
  const KEY = 'e2e0'.repeat(16);
  const OTHER_KEY = 'badd'.repeat(16);
  let server: Started;
  let a: TestWorkspace;
  let b: TestWorkspace;
  const build = (ws: TestWorkspace, env: NodeJS.ProcessEnv = {}) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', ...env });

  beforeAll(async () => {
    server = await startS3WithProxy();
    a = createWorkspace({ projects: 3, width: 3 });
    b = createWorkspace({ projects: 3, width: 3 });
    for (const ws of [a, b]) useRemote(ws, server.s3.endpoint, server.s3.bucket);
  });
  afterAll(async () => {
    a.remove();
    b.remove();
    await server.stop();
  });

  it('uploads only ciphertext; a machine with the key restores everything byte for byte', async () => {
    const cold = await build(a, { STRIDE_ENCRYPTION_KEY: KEY });
    expect(cold.code, cold.output).toBe(0);
    const client = s3Client(server.s3.endpoint);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: server.s3.bucket, Prefix: 'stride/trusted/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    expect(keys.filter((k) => k.endsWith('.stride'))).toHaveLength(3);
    expect(keys.some((k) => k.includes('/why/'))).toBe(true);
    for (const key of keys) {
      const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: server.s3.bucket, Key: key }))).Body!.transformToByteArray());
      expect(body.subarray(0, 20).toString()).toBe('stride-aes256gcm-v1\n');
      expect(body.includes(Buffer.from('stride-artifact'))).toBe(false);
    }
    client.destroy();
    const warm = await build(b, { STRIDE_ENCRYPTION_KEY: KEY, STRIDE_REMOTE_MODE: 'read-only' });
    expect(warm.code, warm.output).toBe(0);
    expect(b.lastRun().tasks.map((t) => t.cache)).toEqual(['remote', 'remote', 'remote']);
    expect(b.digest(outputs(b))).toEqual(a.digest(outputs(a)));
  });

  it.each([
    ['without the key', {}, /it is encrypted, and STRIDE_ENCRYPTION_KEY is not set here/],
    ['with another key', { STRIDE_ENCRYPTION_KEY: OTHER_KEY }, /does not decrypt with STRIDE_ENCRYPTION_KEY/],
  ])('%s: nothing is restored, the tasks run, one warning says why, and no key is printed', async (_label, env, reason) => {
    wipe(b);
    const result = await build(b, { ...env, STRIDE_REMOTE_MODE: 'read-only' });
    expect(result.code, result.output).toBe(0);
    expect(b.lastRun().tasks.every((t) => t.cache === 'miss' && t.status === 'success')).toBe(true);
    const warnings = strideWarnings(result.stdout);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(reason);
    expect(result.output).not.toContain(KEY);
    expect(result.output).not.toContain(OTHER_KEY);
    expect(JSON.stringify(b.lastRun())).not.toContain(OTHER_KEY);
  });
});

describe('two machines uploading the same hashes at the same moment', () => {
  let server: Started;
  let machines: TestWorkspace[];
  const build = (ws: TestWorkspace, env: NodeJS.ProcessEnv = {}) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', ...env });

  beforeAll(async () => {
    server = await startS3WithProxy();
    machines = [0, 1, 2].map(() => createWorkspace({ projects: 6, width: 3 }));
    for (const ws of machines) useRemote(ws, server.s3.endpoint, server.s3.bucket);
  });
  afterAll(async () => {
    for (const ws of machines) ws.remove();
    await server.stop();
  });

  it('leave whole objects: a third machine restores every task from them, byte for byte, refusing none', async () => {
    const [a, b, c] = machines as [TestWorkspace, TestWorkspace, TestWorkspace];
    const [ra, rb] = await Promise.all([build(a), build(b)]);
    expect(ra.code, ra.output).toBe(0);
    expect(rb.code, rb.output).toBe(0);
    // Each machine built and stored a task (or found it already there), or restored the other's upload
    // when that landed before its own lookup; whichever PUT landed last is whole.
    for (const ws of [a, b]) {
      const remote = ws.lastRun().remote!;
      expect(remote.uploads + remote.alreadyStored + remote.hits).toBe(6);
      expect(ws.lastRun().tasks.filter((t) => t.cache === 'miss')).toHaveLength(remote.uploads + remote.alreadyStored);
    }
    const pulled = await build(c, { STRIDE_REMOTE_MODE: 'read-only' });
    expect(pulled.code, pulled.output).toBe(0);
    expect(c.lastRun().tasks.map((t) => t.cache)).toEqual(Array(6).fill('remote'));
    expect(c.lastRun().remote).toMatchObject({ refused: 0, hits: 6 });
    expect(c.digest(outputs(c))).toEqual(a.digest(outputs(a)));
  });
});
