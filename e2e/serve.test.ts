import { existsSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { type Served, startServe as startStrideServe } from './support/serve.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

const RW = 'rw-token-8f2b1c9d';
const RO = 'ro-token-51aa07e3';
const PR = 'pr-token-0c7d33aa';
const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };

/** The server with this suite's tokens: read-write, a pull request's, read-only. */
const startServe = (cwd: string, dir: string, env: NodeJS.ProcessEnv): Promise<Served> =>
  startStrideServe(cwd, dir, { STRIDE_SERVE_TOKEN: `${RW},${PR}@pr-1`, STRIDE_SERVE_READ_ONLY_TOKEN: RO, ...env });

/** One raw HTTP request, so the tests control every header. */
function http(url: string, method: string, options: { token?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.headers ?? {}) } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Nx 24 shares its local cache between checkouts of what it takes for the same
 * repository (`~/.nx/<id>/cache`), and these generated workspaces look alike: each
 * gets a cache of its own, so a hit can only come from the server.
 */
const nxEnv = (ws: TestWorkspace, url: string, token = RW): NodeJS.ProcessEnv => ({
  NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
  NX_CACHE_DIRECTORY: join(ws.root, '.nx', 'cache'),
});
const outputs = (ws: TestWorkspace): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);
/** The blobs a scope holds on the server's disk. */
const blobsOn = (dir: string, scope = 'trusted'): string[] => {
  const root = join(dir, scope);
  return existsSync(root) ? readdirSync(root).filter((d) => d !== '.tmp').flatMap((d) => readdirSync(join(root, d))) : [];
};

describe('stride serve: Nx\'s own remote cache, on disk and in the S3 bucket', () => {
  let s3: Awaited<ReturnType<typeof startS3WithProxy>>;
  let a: TestWorkspace;
  let b: TestWorkspace;
  let c: TestWorkspace;
  let served: Served;
  let serveDir: string;
  let expected: Record<string, string>;
  let remoteEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    s3 = await startS3WithProxy();
    // Plain nx:run-commands targets with Nx's own cache on: nothing goes through @stride/nx:run.
    [a, b, c] = [0, 1, 2].map(() => createWorkspace({ projects: 4, width: 2, stride: false })) as [TestWorkspace, TestWorkspace, TestWorkspace];
    serveDir = join(a.root, '..', `stride-serve-${Date.now()}`);
    remoteEnv = { ...AWS_ENV, STRIDE_REMOTE_BUCKET: s3.s3.bucket, STRIDE_REMOTE_ENDPOINT: s3.s3.endpoint, STRIDE_REMOTE_FORCE_PATH_STYLE: 'true', STRIDE_REMOTE_SCOPE: 'trusted' };
    served = await startServe(a.root, serveDir, remoteEnv);
  });
  afterAll(async () => {
    await served?.stop('SIGKILL');
    for (const ws of [a, b, c]) ws?.remove();
    rmSync(serveDir, { recursive: true, force: true });
    await s3?.stop().catch(() => undefined);
  });

  it('answers /healthz, and the protocol\'s errors: 401, 403 for a read-only token, 400 without Content-Length, 404', async () => {
    expect(await http(`${served.url}/healthz`, 'GET')).toEqual({ status: 200, body: 'ok' });
    expect((await http(`${served.url}/v1/cache/123`, 'GET')).status).toBe(401);
    expect((await http(`${served.url}/v1/cache/123`, 'GET', { token: 'wrong' })).status).toBe(401);
    expect((await http(`${served.url}/v1/cache/123`, 'GET', { token: RO })).status).toBe(404);
    const forbidden = await http(`${served.url}/v1/cache/123`, 'PUT', { token: RO, body: Buffer.from('x') });
    expect(forbidden.status).toBe(403);
    const chunked = await http(`${served.url}/v1/cache/124`, 'PUT', { token: RW, headers: { 'transfer-encoding': 'chunked' }, body: Buffer.from('x') });
    expect(chunked.status).toBe(400);
    expect((await http(`${served.url}/v1/cache/..%2Fescape`, 'GET', { token: RW })).status).toBe(400);
  });

  it('machine A builds with Nx\'s cache and uploads every task through it; a hash is never overwritten', async () => {
    // Async: the server's log reaches this process only while its event loop runs.
    const result = await a.nxAsync(['run-many', '-t', 'build'], nxEnv(a, served.url));
    expect(result.code, result.output).toBe(0);
    expected = a.digest(outputs(a));
    expect(blobsOn(serveDir)).toHaveLength(4);
    const puts = served.stdout().split('\n').filter((line) => line.includes('"method":"PUT"') && line.includes('"status":200'));
    expect(puts).toHaveLength(4);
    const [hash] = blobsOn(serveDir);
    expect((await http(`${served.url}/v1/cache/${hash}`, 'PUT', { token: RW, body: Buffer.from('poison') })).status).toBe(409);
    const got = await http(`${served.url}/v1/cache/${hash}`, 'GET', { token: RO });
    expect(got.status).toBe(200);
    expect(got.body).not.toBe('poison');
  });

  it('machine B, with an empty Nx cache, gets every task from the server and builds nothing', () => {
    const result = b.nx(['run-many', '-t', 'build'], nxEnv(b, served.url, RO));
    expect(result.code, result.output).toBe(0);
    expect(b.buildLog()).toEqual([]);
    expect(result.output).toContain('[remote cache]');
    expect(b.digest(outputs(b))).toEqual(expected);
  });

  it('the blobs are in the S3 bucket too: a new server with an empty disk serves machine C from there', async () => {
    const client = s3Client(s3.s3.endpoint);
    let keys: string[] = [];
    for (let i = 0; i < 50 && keys.length < 4; i++) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.s3.bucket, Prefix: 'stride/trusted/nx/' }));
      keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
      if (keys.length < 4) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    client.destroy();
    expect(keys).toHaveLength(4);
    expect(await served.stop('SIGTERM')).toBe(0);
    rmSync(serveDir, { recursive: true, force: true });
    served = await startServe(a.root, serveDir, remoteEnv);
    const result = c.nx(['run-many', '-t', 'build'], nxEnv(c, served.url, RO));
    expect(result.code, result.output).toBe(0);
    expect(c.buildLog()).toEqual([]);
    expect(c.digest(outputs(c))).toEqual(expected);
  });

  it('a pull request\'s token reads trusted blobs, but what it uploads stays in its scope, out of main\'s reach', async () => {
    const pr = createWorkspace({ projects: 4, width: 2, stride: false });
    try {
      pr.write('libs/lib02/src/index.js', "export const lib02 = 'from the pull request';\n");
      const result = await pr.nxAsync(['run-many', '-t', 'build'], nxEnv(pr, served.url, PR));
      expect(result.code, result.output).toBe(0);
      // The three unchanged projects came from trusted/; lib02 was built and went to scopes/pr-1.
      expect(pr.buildLog().map((line) => line.split(' ')[0])).toEqual(['lib02']);
      const prBlobs = blobsOn(serveDir, 'pr-1');
      expect(prBlobs).toHaveLength(1);
      for (const hash of prBlobs) {
        expect((await http(`${served.url}/v1/cache/${hash}`, 'GET', { token: RW })).status).toBe(404);
        expect((await http(`${served.url}/v1/cache/${hash}`, 'GET', { token: PR })).status).toBe(200);
      }
      const client = s3Client(s3.s3.endpoint);
      let keys: string[] = [];
      for (let i = 0; i < 50 && keys.length < 1; i++) {
        keys = ((await client.send(new ListObjectsV2Command({ Bucket: s3.s3.bucket, Prefix: 'stride/scopes/pr-1/nx/' }))).Contents ?? []).map((o) => o.Key ?? '');
        if (keys.length < 1) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const trusted = ((await client.send(new ListObjectsV2Command({ Bucket: s3.s3.bucket, Prefix: 'stride/trusted/nx/' }))).Contents ?? []).map((o) => o.Key ?? '');
      client.destroy();
      expect(keys).toHaveLength(1);
      expect(trusted).toHaveLength(4);
    } finally {
      pr.remove();
    }
  });

  it('a blob tampered with in the bucket is never served', async () => {
    const client = s3Client(s3.s3.endpoint);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.s3.bucket, Prefix: 'stride/trusted/nx/' }));
    const key = (listed.Contents ?? [])[0]?.Key as string;
    const hash = key.slice(key.lastIndexOf('/') + 1, -'.blob'.length);
    const original = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.s3.bucket, Key: key }))).Body!.transformToByteArray());
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0xff;
    await client.send(new PutObjectCommand({ Bucket: s3.s3.bucket, Key: key, Body: tampered }));
    client.destroy();
    await served.stop('SIGTERM');
    rmSync(serveDir, { recursive: true, force: true });
    served = await startServe(a.root, serveDir, remoteEnv);
    expect((await http(`${served.url}/v1/cache/${hash}`, 'GET', { token: RO })).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(served.stdout()).toContain(`refused remote object ${key}: its bytes do not match their sha256`);
  });

  it('a wrong token: Nx 24 stops and shows the server\'s 401 message', () => {
    // Nx's own client treats a 401 as fatal (it does not fall back to building), so the
    // server's job is a message that says what is wrong.
    rmSync(join(b.root, '.nx'), { recursive: true, force: true });
    const result = b.nx(['run-many', '-t', 'build'], nxEnv(b, served.url, 'not-a-token'));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Unauthorized: Missing or invalid authentication token.');
  });

  it('the bucket down behind the server: misses are answered, builds succeed, blobs stay on disk, the log warns', async () => {
    await s3.stop();
    c.write('libs/lib01/src/index.js', "export const lib01 = 'changed while S3 is down';\n");
    const before = blobsOn(serveDir).length;
    const result = await c.nxAsync(['run-many', '-t', 'build'], nxEnv(c, served.url));
    expect(result.code, result.output).toBe(0);
    expect(c.read('libs/lib01/dist/index.js')).toContain('changed while S3 is down');
    // lib01 and the two projects above it ran and were stored on the server's disk.
    expect(blobsOn(serveDir).length).toBe(before + 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(served.stdout()).toMatch(/"warning":"remote .* (request failed|failed 3 times in a row)/);
    c.git(['checkout', '--', '.']);
  });

  it('refuses a token too short to be a secret, before it listens', () => {
    const result = a.stride(['serve', '--port', '0', '--dir', join(serveDir, 'short')], { STRIDE_SERVE_TOKEN: 'abc123@pr-1' });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/STRIDE_SERVE_TOKEN: a token of 6 characters is too short to be a secret: use at least 16/);
    expect(result.output).not.toContain('abc123');
  });

  it('never logs a token', () => {
    expect(served.stdout()).not.toContain(RW);
    expect(served.stdout()).not.toContain(RO);
  });
});
