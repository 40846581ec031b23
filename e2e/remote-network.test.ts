// The remote in a real network: a real HTTP proxy (Debian's tinyproxy) between
// Stride and the real S3 server, TLS through the proxy's CONNECT tunnel to a
// certificate only NODE_EXTRA_CA_CERTS makes trusted, NO_PROXY bypasses, and
// the SDK's multipart path through the same proxy.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTinyproxy, type Tinyproxy } from '../tools/proxy/tinyproxy.mjs';
import { startS3Server, type S3Server } from '../tools/s3/server.mjs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3Client, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
/** No proxy variable of the machine running the tests leaks in; each test names its own. */
const NO_PROXY_ENV = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '', ALL_PROXY: '', all_proxy: '' };

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** base64 sha256 of the body as it arrived. */
  sha256: string;
}

/**
 * A loopback stand-in for S3 in front of s3rver (which ignores checksums): it
 * records each request with the sha256 of its body, and, when told to, answers
 * PUTs as S3 answers bytes that do not match their checksum.
 */
async function startRecorder(s3: S3Server): Promise<{ endpoint: string; requests: Recorded[]; refuseDigests: boolean; bucketRegion: string | undefined; stop(): Promise<void> }> {
  const state = { requests: [] as Recorded[], refuseDigests: false, bucketRegion: undefined as string | undefined };
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      state.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, sha256: createHash('sha256').update(body).digest('base64') });
      const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(request.headers.authorization))?.[1];
      if (state.bucketRegion && signedFor !== state.bucketRegion) {
        // What S3 answers a request signed for another region than the bucket's.
        response.writeHead(301, { 'x-amz-bucket-region': state.bucketRegion, 'Content-Type': 'application/xml' });
        response.end(request.method === 'HEAD' ? undefined : '<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>');
        return;
      }
      if (state.refuseDigests && request.method === 'PUT') {
        response.writeHead(400, { 'Content-Type': 'application/xml' });
        response.end('<Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>');
        return;
      }
      const upstream = httpRequest({ host: s3.host, port: s3.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.on('error', () => response.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));

describe('the remote in a real network', () => {
  let s3: S3Server;
  let proxy: Tinyproxy;
  let tls: Server;
  let tlsEndpoint: string;
  let certDir: string;
  let caFile: string;
  let ws: TestWorkspace;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;

  const useRemote = (endpoint: string): void =>
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint, forcePathStyle: true, timeoutMs: 3000 } } }],
    }));
  const wipe = (): void => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    rmSync(join(ws.root, 'build-log.txt'), { force: true });
    for (const project of ws.graph.projects) rmSync(join(ws.root, 'libs', project, 'dist'), { recursive: true, force: true });
  };
  const build = (env: NodeJS.ProcessEnv) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, ...NO_PROXY_ENV, STRIDE_REMOTE_SCOPE: 'trusted', ...env });

  beforeAll(async () => {
    [s3, proxy] = await Promise.all([startS3Server(), startTinyproxy()]);
    recorder = await startRecorder(s3);
    // A certificate for localhost that no system store trusts: only NODE_EXTRA_CA_CERTS can make it so.
    certDir = mkdtempSync(join(tmpdir(), 'stride-tls-'));
    caFile = join(certDir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(certDir, 'key.pem'), '-out', caFile], { stdio: 'ignore' });
    // TLS in front of s3rver (which speaks plain HTTP): the stand-in for an https S3 endpoint.
    tls = createTlsServer({ key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(caFile) }, (socket) => {
      const upstream = connect(s3.port, s3.host);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    tls.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsEndpoint = `https://localhost:${(tls.address() as { port: number }).port}`;
    ws = createWorkspace({ projects: 2, width: 1 });
  });
  afterAll(async () => {
    ws?.remove();
    tls?.close();
    rmSync(certDir, { recursive: true, force: true });
    await Promise.all([proxy?.stop(), recorder?.stop(), s3?.stop()]);
  });

  it('https goes through the proxy in a CONNECT tunnel, and TLS inside it trusts NODE_EXTRA_CA_CERTS', async () => {
    useRemote(tlsEndpoint);
    const host = new URL(tlsEndpoint).host;
    const result = await build({ https_proxy: proxy.url, NODE_EXTRA_CA_CERTS: caFile });
    expect(result.code, result.output).toBe(0);
    expect(ws.lastRun().remote, result.stdout).toMatchObject({ uploads: 2, refused: 0 });
    expect(strideWarnings(result.stdout)).toEqual([]);
    expect(await proxy.requests()).toContain(`CONNECT ${host} HTTP/1.1`);

    // The same through the tunnel without the extra CA: the certificate is checked, so the remote is unusable: one warning, tasks run.
    wipe();
    const untrusted = await build({ HTTPS_PROXY: proxy.url });
    expect(untrusted.code, untrusted.output).toBe(0);
    expect(ws.buildLog()).toHaveLength(2);
    expect(strideWarnings(untrusted.stdout).join('\n')).toMatch(/certificate/i);
  });

  it('NO_PROXY hosts bypass the proxy (its log gains no line) and still reach the bucket', async () => {
    wipe();
    const before = (await proxy.requests()).length;
    const result = await build({ HTTPS_PROXY: proxy.url, NO_PROXY: 'example.org,localhost', NODE_EXTRA_CA_CERTS: caFile });
    expect(result.code, result.output).toBe(0);
    expect(ws.lastRun().tasks.map((t) => t.cache)).toEqual(['remote', 'remote']);
    expect(await proxy.requests()).toHaveLength(before);
  });

  it('http goes to the proxy in absolute form, and large uploads (the SDK’s multipart path) go through it too', async () => {
    wipe();
    useRemote(s3.endpoint);
    const result = await build({ HTTP_PROXY: proxy.url });
    expect(result.code, result.output).toBe(0);
    expect(ws.lastRun().tasks.map((t) => t.cache)).toEqual(['remote', 'remote']);
    const requests = await proxy.requests();
    expect(requests.filter((line) => line.startsWith(`GET ${s3.endpoint}/${s3.bucket}/stride/trusted/`)).length).toBeGreaterThanOrEqual(2);

    // 17 MiB, over the multipart threshold, through the installed engine's object store (inside @stride/nx).
    const big = randomBytes(17 * 1024 * 1024);
    writeFileSync(join(ws.root, 'big.bin'), big);
    ws.write('multipart.mjs', `
      import { createS3Store, parseRemoteSettings } from '@stride/nx/core/index.js';
      import { readFileSync, statSync } from 'node:fs';
      const settings = parseRemoteSettings({ bucket: ${JSON.stringify(s3.bucket)}, endpoint: ${JSON.stringify(recorder.endpoint)}, timeoutMs: 5000 }, process.env, 'remote');
      const objects = await createS3Store(settings);
      await objects.upload('big/object.bin', { file: 'big.bin', bytes: statSync('big.bin').size }, true);
      const got = await objects.download('big/object.bin', 'big.out', 64 * 1024 * 1024);
      console.log(JSON.stringify({ bytes: got.bytes, source: got.source }));
    `);
    const run = await ws.execAsync('node', ['multipart.mjs'], { ...AWS_ENV, ...NO_PROXY_ENV, HTTP_PROXY: proxy.url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    expect(run.code, run.output).toBe(0);
    const got = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { bytes: number; source: string };
    expect(got.bytes).toBe(big.length);
    expect(createHash('sha256').update(readFileSync(join(ws.root, got.source))).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    const key = `${recorder.endpoint}/${s3.bucket}/big/object.bin`;
    const lines = await proxy.requests();
    expect(lines).toContain(`POST ${key}?uploads= HTTP/1.1`);
    expect(lines.filter((line) => line.startsWith(`PUT ${key}?`) && line.includes('partNumber='))).toHaveLength(3);
    expect(lines.some((line) => line.startsWith(`POST ${key}?uploadId=`))).toBe(true);
    // And each part carried the sha256 of its bytes, for S3 to verify on arrival.
    const parts = recorder.requests.filter((r) => r.method === 'PUT' && r.url.includes('partNumber='));
    expect(parts).toHaveLength(3);
    for (const part of parts) {
      expect(part.headers['x-amz-checksum-sha256']).toBe(part.sha256);
      expect(String(part.headers.authorization)).toContain('x-amz-checksum-sha256');
    }
  });

  it('every PUT carries x-amz-checksum-sha256 of its bytes, signed; a bucket that finds them changed refuses the upload: one warning, the build goes on', async () => {
    wipe();
    useRemote(recorder.endpoint);
    recorder.requests.length = 0;
    const result = await build({ STRIDE_REMOTE_MODE: 'write-only', STRIDE_REMOTE_PREFIX: 'checksums' }); // a fresh prefix: nothing there yet
    expect(result.code, result.output).toBe(0);
    expect(strideWarnings(result.stdout)).toEqual([]);
    const puts = recorder.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.url).filter((url) => url.endsWith('.stride'))).toHaveLength(2);
    for (const put of puts) {
      expect(put.headers['x-amz-checksum-sha256'], put.url).toBe(put.sha256);
      expect(put.headers['x-amz-content-sha256'], put.url).toBe(Buffer.from(put.sha256, 'base64').toString('hex'));
      expect(String(put.headers.authorization), put.url).toMatch(/SignedHeaders=[^,]*x-amz-checksum-sha256/);
    }

    wipe();
    recorder.refuseDigests = true;
    try {
      const refused = await build({ STRIDE_REMOTE_MODE: 'write-only', STRIDE_REMOTE_PREFIX: 'refused' });
      expect(refused.code, refused.output).toBe(0);
      expect(ws.buildLog()).toHaveLength(2);
      const warnings = strideWarnings(refused.stdout);
      expect(warnings, refused.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/400 BadDigest.*did not match their sha256 on arrival/);
      expect(ws.lastRun().remote).toMatchObject({ uploads: 0 });
    } finally {
      recorder.refuseDigests = false;
    }
  });

  it('a bucket in another region: S3’s 301 is followed once, the build uses the bucket, and one warning names remote.region', async () => {
    wipe();
    useRemote(recorder.endpoint);
    recorder.bucketRegion = 'eu-west-2';
    recorder.requests.length = 0;
    try {
      const result = await build({ AWS_REGION: 'us-east-1', STRIDE_REMOTE_PREFIX: 'regions' });
      expect(result.code, result.output).toBe(0);
      expect(ws.lastRun().remote).toMatchObject({ uploads: 2 });
      const warnings = strideWarnings(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/is in eu-west-2, not us-east-1.*set remote\.region \(or AWS_REGION\) to "eu-west-2"/);
      // One redirect, then every request signed for the bucket's region.
      expect(recorder.requests.filter((r) => !String(r.headers.authorization).includes('/eu-west-2/'))).toHaveLength(1);
    } finally {
      recorder.bucketRegion = undefined;
    }
  });

  it('stride gc --remote lists one scope’s objects older than the age (a real ListObjectsV2), and deletes them only with --yes', async () => {
    useRemote(s3.endpoint);
    for (const scope of ['pr-7', 'pr-77']) {
      wipe();
      const result = await build({ STRIDE_REMOTE_SCOPE: scope, STRIDE_REMOTE_PREFIX: 'gc' });
      expect(ws.lastRun().remote, result.output).toMatchObject({ uploads: 2 });
    }
    // s3rver dates an object by its file's mtime: ten days ago for every scope object, then one of pr-7's made fresh again.
    const scopesDir = join(s3.directory, s3.bucket, 'gc', 'scopes');
    const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    for (const file of files(scopesDir)) utimesSync(file, tenDaysAgo, tenDaysAgo);
    // An artifact made fresh (the scope's stride why records beside it stay old, and go with the rest).
    const fresh = files(join(scopesDir, 'pr-7')).find((file) => file.endsWith('.stride._S3rver_object')) as string;
    utimesSync(fresh, new Date(), new Date());

    const keys = async (): Promise<string[]> => {
      const client = s3Client(s3.endpoint);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'gc/scopes/' }));
      client.destroy();
      return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
    };
    const before = await keys();
    expect(before.filter((key) => key.endsWith('.stride'))).toHaveLength(4);
    // Each build also put its stride why records in its scope: they are objects of the scope like any other.
    const inScope = (keys: string[], scope: string): string[] => keys.filter((key) => key.startsWith(`gc/scopes/${scope}/`));
    const old = inScope(before, 'pr-7').length - 1;
    expect(inScope(before, 'pr-7').some((key) => key.includes('/why/'))).toBe(true);
    const env = { ...AWS_ENV, ...NO_PROXY_ENV, STRIDE_REMOTE_PREFIX: 'gc', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const dry = await ws.strideAsync(['gc', '--remote', '--scope', 'pr-7', '--older-than', '7d'], env);
    expect(dry.code, dry.output).toBe(0);
    const listedOld = dry.stdout.split('\n').filter((line) => line.includes('gc/scopes/'));
    expect(listedOld.filter((line) => /\.stride$/.test(line))).toHaveLength(1);
    expect(dry.stdout).toContain(`would delete ${old} objects`);
    expect(dry.stdout).toMatch(/under s3:\/\/stride-test\/gc\/scopes\/pr-7\/ older than 7d; run again with --yes/);
    expect(await keys()).toEqual(before);

    const wet = await ws.strideAsync(['gc', '--remote', '--scope', 'pr-7', '--older-than', '7d', '--yes'], env);
    expect(wet.code, wet.output).toBe(0);
    expect(wet.stdout).toContain(`deleted ${old} of ${old} objects`);
    const after = await keys();
    expect(inScope(after, 'pr-7')).toEqual([expect.stringMatching(/\.stride$/)]);
    expect(inScope(after, 'pr-77')).toEqual(inScope(before, 'pr-77'));

    const bad = await ws.strideAsync(['gc', '--remote', '--older-than', '7d'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--scope and --older-than are required with --remote/);
  });

  it('stride aws-policy --lifecycle prints the bucket’s lifecycle rules and how to apply them', async () => {
    const result = await ws.strideAsync(['aws-policy', '--lifecycle', '--prefix', 'cache', '--scope-days', '3', '--bucket', 'acme-cache']);
    expect(result.code, result.output).toBe(0);
    const rules = (JSON.parse(result.stdout) as { Rules: Array<{ Filter: { Prefix: string } }> }).Rules;
    expect(rules.map((rule) => rule.Filter.Prefix)).toEqual(['cache/scopes/', 'cache/trusted/', 'cache/']);
    expect(result.stderr).toContain('aws s3api put-bucket-lifecycle-configuration --bucket acme-cache');
  });

  it('stride shard --shard 2/2 (1-based, as Jest and Playwright write it) is --index 1 --total 2; 0/2 is refused with the fix', async () => {
    const oneBased = await ws.strideAsync(['shard', '--shard', '2/2', '-t', 'build', '--json'], { ...NO_PROXY_ENV, STRIDE_REMOTE_MODE: 'off' });
    const zeroBased = await ws.strideAsync(['shard', '--index', '1', '--total', '2', '-t', 'build', '--json'], { ...NO_PROXY_ENV, STRIDE_REMOTE_MODE: 'off' });
    expect(oneBased.code, oneBased.output).toBe(0);
    expect(JSON.parse(oneBased.stdout)).toEqual(JSON.parse(zeroBased.stdout));
    expect(JSON.parse(oneBased.stdout)).toMatchObject({ index: 1, total: 2 });
    const bad = await ws.strideAsync(['shard', '--shard', '0/2', '-t', 'build'], { ...NO_PROXY_ENV, STRIDE_REMOTE_MODE: 'off' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--shard 0\/2: shards count from 1.*use 1\/2 to 2\/2/);
  });
});
