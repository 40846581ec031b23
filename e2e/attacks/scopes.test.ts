// Issue 18, items 3, 6 and 10 (serve): who may write where in the bucket, who
// reads what, and `stride serve`. Every attack runs for real: a pull request's
// job and a developer's laptop are real `nx` runs against a real S3 server
// (s3rver), `stride serve` is the real bin with Nx 24's own HTTP cache client
// in front of it. s3rver has no IAM, so the pull-request role's limits are proved
// on the policy document `stride aws-policy` prints, and the reader side by runs
// in which the attacker writes wherever an over-wide policy would have let it.
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { S3Server } from '../../tools/s3/server.mjs';
import { startS3Server } from '../../tools/s3/server.mjs';
import { s3Client, TEST_CREDENTIALS } from '../support/s3.js';
import { threatModel } from '../support/threat-model.js';
import { type Served, startServe as startStrideServe } from '../support/serve.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';

const { attack } = threatModel(import.meta.filename);

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
/** The build also reads POISON, which no input declares: the CREEP attack's lever (same hash, other bytes). */
const POISONABLE = 'node ../../tools/build.mjs && node -e "if (process.env.POISON) require(\'fs\').appendFileSync(\'dist/index.js\', \'// POISONED\\n\')"';
const MAIN_TOKEN = 'main-token-6b1f0e2a9c';
const PR_TOKEN = 'pr-token-3d8a5c7e41';
/** A distinctive duration the attacker plants in a timing history a developer must not read. */
const PLANTED_MS = 987_654;

/** The real `stride serve` bin, on a free loopback port, with only the tokens and scope each test gives it. */
const startServe = async (ws: TestWorkspace, dir: string, env: NodeJS.ProcessEnv): Promise<Served> => {
  const served = await startStrideServe(ws.root, dir, { STRIDE_SERVE_TOKEN: undefined, STRIDE_SERVE_READ_ONLY_TOKEN: undefined, STRIDE_REMOTE_SCOPE: undefined, ...env });
  return { ...served, stop: (signal = 'SIGKILL') => served.stop(signal) };
};

/** One raw HTTP request to 127.0.0.1, every header (Host included) as given. */
function http(port: number, path: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('scopes: no pull request writes where main or a developer reads without a signature', () => {
  let s3: S3Server;
  let client: S3Client;
  /** A Stride workspace: a pull request's CI machine and a developer's laptop are fresh copies of its state. */
  let ws: TestWorkspace;
  /** Plain Nx targets with Nx's own cache, for `stride serve`. */
  let nxWs: TestWorkspace;
  let publicLine: string;
  let privatePem: string;
  const outputs: string[] = [];

  const keys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const getObject = async (key: string): Promise<Buffer> =>
    Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const copy = (from: string, to: string) => client.send(new CopyObjectCommand({ Bucket: s3.bucket, CopySource: `${s3.bucket}/${from}`, Key: to }));
  const waitForKeys = async (prefix: string, count: number): Promise<string[]> => {
    let found: string[] = [];
    for (let i = 0; i < 100 && found.length < count; i++) {
      found = await keys(prefix);
      if (found.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return found;
  };
  const poisoned = (w: TestWorkspace, path = (p: string) => `libs/${p}/dist/index.js`): string[] => w.graph.projects.filter((p) => w.read(path(p)).includes('POISONED'));

  /** A fresh machine of `ws` (empty store, no outputs) running the build with exactly `env` (nothing of this process's STRIDE_*). */
  const build = async (env: NodeJS.ProcessEnv) => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    rmSync(join(ws.root, 'build-log.txt'), { force: true });
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
    const result = await ws.nxAsync(['run-many', '-t', 'build'], { STRIDE_REMOTE_SCOPE: undefined, STRIDE_SIGNING_KEY: undefined, STRIDE_SIGNING_KEY_FILE: undefined, POISON: undefined, ...AWS_ENV, ...env });
    expect(result.code, result.output).toBe(0);
    outputs.push(result.output);
    return result;
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3Client(s3.endpoint);
    ws = createWorkspace({ projects: 3, width: 2 });
    nxWs = createWorkspace({ projects: 2, width: 1, stride: false });
    const made = ws.stride(['keygen', '--out', join(ws.root, 'signing.pem')]);
    expect(made.code, made.output).toBe(0);
    publicLine = /^\s+"([A-Za-z0-9+/=]+)"$/m.exec(made.stdout)?.[1] as string;
    privatePem = ws.read('signing.pem');
    rmSync(join(ws.root, 'signing.pem'));
    // Main's configuration, as the README's safe setup has it: a bucket and the public key, no scope (the default).
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, publicKeys: [publicLine] } } }],
    }));
    for (const w of [ws, nxWs]) {
      for (const p of w.graph.projects) {
        w.updateJson<{ targets: { build: { options: { command: string } } } }>(`libs/${p}/project.json`, (json) => {
          json.targets.build.options.command = POISONABLE;
          return json;
        });
      }
      w.git(['add', '-A']);
      w.git(['commit', '-q', '-m', 'poisonable builds']);
    }
  });
  afterAll(async () => {
    client?.destroy();
    ws?.remove();
    nxWs?.remove();
    await s3?.stop();
  });

  attack(
    {
      item: '6',
      attacker: 'pull-request job',
      capability: 'runs any code with its role and any STRIDE_REMOTE_SCOPE; computes a developer\'s hashes',
      attack: 'claims the developers\' default scope (local), trusted without the key, or another scope name, and plants poisoned artifacts and timings there (and, as an over-wide policy would let it, copies into scopes/local/ and trusted/)',
      stoppedBy: 'a developer on the default scope reads only trusted/, signature-verified; the default scope writes nothing to the bucket',
    },
    async () => {
      // Its own scope first: the poisoned artifacts under the hashes every developer will compute.
      await build({ STRIDE_REMOTE_SCOPE: 'pr-7', POISON: '1' });
      expect(poisoned(ws)).toEqual(ws.graph.projects);
      const own = await keys('stride/scopes/pr-7/');
      expect(own.filter((k) => k.endsWith('.stride'))).toHaveLength(3);

      // STRIDE_REMOTE_SCOPE=local: the developers' default scope writes nothing to the bucket, whoever claims it.
      const before = await keys('stride/');
      await build({ STRIDE_REMOTE_SCOPE: 'local', POISON: '1' });
      expect(await keys('stride/')).toEqual(before);
      // STRIDE_REMOTE_SCOPE=trusted without the key: nothing goes up (it would be unsigned), one warning says why.
      const asTrusted = await build({ STRIDE_REMOTE_SCOPE: 'trusted', POISON: '1' });
      expect(asTrusted.output).toMatch(/trusted run has no signing key \(STRIDE_SIGNING_KEY\), so it uploads nothing/);
      expect(await keys('stride/trusted/')).toEqual([]);
      // Another scope name: with no IAM here it lands (the generated PR role is denied it, see the policy attack).
      await build({ STRIDE_REMOTE_SCOPE: 'team', POISON: '1' });
      expect((await keys('stride/scopes/team/')).filter((k) => k.endsWith('.stride'))).toHaveLength(3);

      // What a PR role allowed scopes/* (the old policy) or a misconfigured bucket would let it do on top.
      for (const key of own) await copy(key, key.replace('scopes/pr-7/', 'scopes/local/'));
      await copy(own[0] as string, (own[0] as string).replace('scopes/pr-7/', 'trusted/'));
      const plantedTimings = JSON.stringify({ version: 1, tasks: Object.fromEntries(ws.graph.projects.map((p) => [`${p}:build`, { ms: PLANTED_MS, runs: 50, at: Date.now() }])) });
      for (const key of ['stride/timings/scopes/local.json', 'stride/timings/scopes/team.json', 'stride/timings/scopes/pr-7.json']) {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: plantedTimings }));
      }

      // A developer's laptop with default settings (no scope): nothing the PR wrote is restored.
      const planted = await keys('stride/');
      const dev = await build({});
      expect(poisoned(ws)).toEqual([]);
      expect(ws.buildLog()).toHaveLength(3);
      const record = ws.lastRun();
      expect(record.tasks.map((t) => t.cache)).toEqual(['miss', 'miss', 'miss']);
      expect(record.remote).toMatchObject({ hits: 0, refused: 1 });
      // The planted timing history was not read: no estimate came from it.
      expect(record.tasks.map((t) => t.estimateMs)).not.toContain(PLANTED_MS);
      // One warning: the unsigned copy in trusted/, named; the task ran instead.
      const warnings = dev.stdout.split('\n').filter((line) => line.startsWith('Stride warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/refused a remote object, stride\/trusted\/[0-9a-f]+\.stride .*signature.*those tasks ran instead/);
      // And the developer wrote nothing to the bucket.
      expect(await keys('stride/')).toEqual(planted);

      // Main, trusted and signing, builds clean and replaces the refused object; the developer then gets main's result.
      await build({ STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });
      expect(poisoned(ws)).toEqual([]);
      await build({});
      expect(ws.lastRun().tasks.map((t) => t.cache)).toEqual(['remote', 'remote', 'remote']);
      expect(poisoned(ws)).toEqual([]);
      // A pull request still reads trusted/ first: main's results, not its own poisoned ones.
      await build({ STRIDE_REMOTE_SCOPE: 'pr-7' });
      expect(ws.lastRun().tasks.map((t) => t.cache)).toEqual(['remote', 'remote', 'remote']);
      expect(poisoned(ws)).toEqual([]);
      return 'the PR planted 3 poisoned artifacts each in scopes/pr-7, scopes/team and scopes/local (the scope local itself uploaded nothing, trusted without the key nothing), one in trusted/ and timings in three scopes; a default developer run restored none (3 misses, 1 refusal warning naming trusted/, no planted estimate) and wrote nothing; main then replaced the object and developers and PRs got its signed results';
    },
  );

  attack(
    {
      item: '6.policy',
      attacker: 'pull-request job',
      capability: 'holds the pull-request role `stride aws-policy` generates',
      attack: 'writes (or deletes) outside scopes/pr-*: trusted/, scopes/local/, another scope name, trusted timings',
      stoppedBy: 'the role allows writes only on scopes/pr-* and timings/scopes/pr-*, and explicitly denies every write on every other resource',
    },
    async () => {
      const printed = await ws.strideAsync(['aws-policy', '--bucket', 'acme-cache', '--repo', 'acme/mono', '--environment', 'stride-trusted']);
      expect(printed.code, printed.output).toBe(0);
      const policies = JSON.parse(printed.stdout) as { pullRequest: { permissionsPolicy: { Statement: Array<Record<string, unknown>> } } };
      const statements = policies.pullRequest.permissionsPolicy.Statement;
      const list = (value: unknown): string[] => [value].flat().filter((v): v is string => typeof v === 'string');
      const writeAction = (action: string): boolean => /^s3:(Put|Delete|Abort|Restore|Replicate)|^s3:\*$|^\*$/.test(action);
      const allowedWrites = statements.filter((s) => s.Effect === 'Allow' && list(s.Action).some(writeAction)).flatMap((s) => list(s.Resource));
      expect(allowedWrites.sort()).toEqual(['arn:aws:s3:::acme-cache/stride/scopes/pr-*', 'arn:aws:s3:::acme-cache/stride/timings/scopes/pr-*']);
      // The explicit Deny that no other grant can open: every write action, on everything but the PR scopes.
      const denyElsewhere = statements.find((s) => s.Effect === 'Deny' && s.NotResource !== undefined);
      expect(list(denyElsewhere?.NotResource).sort()).toEqual(allowedWrites.sort());
      expect(list(denyElsewhere?.Action)).toEqual(expect.arrayContaining(['s3:PutObject*', 's3:DeleteObject*', 's3:AbortMultipartUpload']));
      // IAM matching, as AWS does it (case-sensitive, * across /), over the keys a PR might try.
      const matches = (pattern: string, arn: string): boolean => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(arn);
      const deniedWrite = (key: string): boolean => !list(denyElsewhere?.NotResource).some((p) => matches(p, `arn:aws:s3:::acme-cache/${key}`));
      for (const key of ['stride/trusted/abc.stride', 'stride/trusted/nx/abc.blob', 'stride/scopes/local/abc.stride', 'stride/scopes/team/abc.stride', 'stride/scopes/PR-7/abc.stride', 'stride/timings/trusted.json', 'stride/timings/scopes/local.json', 'other/scopes/pr-7/abc.stride']) {
        expect(deniedWrite(key), key).toBe(true);
      }
      for (const key of ['stride/scopes/pr-7/abc.stride', 'stride/scopes/pr-7/nx/abc.blob', 'stride/timings/scopes/pr-7.json']) expect(deniedWrite(key), key).toBe(false);
      const denyTrusted = statements.find((s) => s.Effect === 'Deny' && list(s.Resource).includes('arn:aws:s3:::acme-cache/stride/trusted/*'));
      expect(list(denyTrusted?.Action)).toContain('s3:PutObject*');
      return 'the printed role allows writes only on scopes/pr-* and timings/scopes/pr-*; a Deny with NotResource covers every write and delete elsewhere (trusted/, scopes/local, scopes/team, scopes/PR-7, trusted timings, other prefixes), plus an explicit Deny on trusted/';
    },
  );

  attack(
    {
      item: '3',
      attacker: 'pull-request job',
      capability: 'holds a pr-7 token of the team\'s `stride serve` (which has the signing key) and bucket write access',
      attack: 'uploads a poisoned blob through serve under main\'s hash, then copies it from scopes/pr-7/nx/ into trusted/nx/',
      stoppedBy: 'serve signs only writes into the trusted scope; main\'s reads of trusted/nx/ need a valid signature',
    },
    async () => {
      const dir = join(ws.root, '..', `stride-serve-${Date.now()}`);
      const served = await startServe(ws, dir, { ...AWS_ENV, STRIDE_SERVE_TOKEN: `${MAIN_TOKEN}@trusted,${PR_TOKEN}@pr-7`, STRIDE_SIGNING_KEY: privatePem });
      try {
        const nxRun = async (url: string, token: string, env: NodeJS.ProcessEnv) => {
          rmSync(join(nxWs.root, '.nx'), { recursive: true, force: true });
          for (const p of nxWs.graph.projects) rmSync(join(nxWs.root, 'libs', p, 'dist'), { recursive: true, force: true });
          rmSync(join(nxWs.root, 'build-log.txt'), { force: true });
          const result = await nxWs.nxAsync(['run-many', '-t', 'build'], { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token, NX_CACHE_DIRECTORY: join(nxWs.root, '.nx', 'cache'), POISON: undefined, ...env });
          expect(result.code, result.output).toBe(0);
          outputs.push(result.output);
          return result;
        };
        // The PR's Nx client builds poisoned outputs under main's hashes and uploads them through serve.
        await nxRun(served.url, PR_TOKEN, { POISON: '1' });
        expect(poisoned(nxWs)).toEqual(nxWs.graph.projects);
        const prBlobs = await waitForKeys('stride/scopes/pr-7/nx/', 2);
        expect(prBlobs).toHaveLength(2);
        // Inspect the bucket: the server did not sign what the PR's token wrote.
        for (const key of prBlobs) {
          const blob = await getObject(key);
          const header = JSON.parse(blob.subarray(0, blob.indexOf(0x0a)).toString('utf8')) as Record<string, unknown>;
          expect(Object.keys(header).filter((k) => /sig/i.test(k)), key).toEqual([]);
          await copy(key, key.replace('scopes/pr-7/nx/', 'trusted/nx/'));
        }
        // Main's Nx client, empty cache, through the same server: the copies are refused, every task runs, clean.
        await nxRun(served.url, MAIN_TOKEN, {});
        expect(poisoned(nxWs)).toEqual([]);
        expect(nxWs.buildLog()).toHaveLength(2);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const refusals = served.stdout().split('\n').filter((line) => line.includes('refused remote object stride/trusted/nx/'));
        expect(refusals).toHaveLength(2);
        expect(refusals[0]).toMatch(/signature/);
        // Main's own signed blobs replace them (uploaded in the background: wait for them before stopping the server).
        const signedHeaders = async (): Promise<boolean> =>
          (await Promise.all((await keys('stride/trusted/nx/')).map(async (key) => /sig/i.test((await getObject(key)).subarray(0, 4000).toString('utf8').split('\n')[0] ?? '')))).every(Boolean);
        for (let i = 0; i < 100 && !(await signedHeaders()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await signedHeaders()).toBe(true);
        // A fresh server with an empty disk then serves main clean hits from the bucket.
        await served.stop();
        rmSync(dir, { recursive: true, force: true });
        const fresh = await startServe(ws, dir, { ...AWS_ENV, STRIDE_SERVE_TOKEN: `${MAIN_TOKEN}@trusted,${PR_TOKEN}@pr-7` });
        try {
          await nxRun(fresh.url, MAIN_TOKEN, {});
          expect(nxWs.buildLog()).toEqual([]);
          expect(poisoned(nxWs)).toEqual([]);
        } finally {
          await fresh.stop();
        }
      } finally {
        await served.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      return 'the 2 blobs the PR token uploaded carried no signature; copied into trusted/nx/, main\'s real nx run through serve got neither (2 refusals logged, both tasks ran, outputs clean), and main\'s signed blobs replaced them';
    },
  );

  attack(
    {
      item: '10.rebinding',
      attacker: 'web page the developer opens',
      capability: 'DNS rebinding (its own name resolving to 127.0.0.1) or cross-site requests to a loopback port',
      attack: 'PUTs a blob into an anonymous loopback `stride serve` with Host evil.example, or with Origin http://evil.example',
      stoppedBy: 'an anonymous server answers only Host names of loopback with its port, and no foreign Origin (403)',
    },
    async () => {
      const dir = join(ws.root, '..', `stride-serve-anon-${Date.now()}`);
      const served = await startServe(ws, dir, { STRIDE_REMOTE_MODE: 'off' });
      try {
        const body = Buffer.from('poison');
        const rebound = await http(served.port, '/v1/cache/abc123', 'PUT', { host: `evil.example:${served.port}` }, body);
        expect(rebound.status).toBe(403);
        expect(rebound.body).toMatch(/Host "evil\.example:\d+" is not this server's loopback address/);
        const crossSite = await http(served.port, '/v1/cache/abc123', 'PUT', { host: `127.0.0.1:${served.port}`, origin: 'http://evil.example' }, body);
        expect(crossSite.status).toBe(403);
        expect(crossSite.body).toContain('Origin "http://evil.example"');
        expect((await http(served.port, '/v1/cache/abc123', 'GET', { host: `evil.example:${served.port}` })).status).toBe(403);
        // Nothing was stored; a local client is served as before.
        expect((await http(served.port, '/v1/cache/abc123', 'GET', { host: `127.0.0.1:${served.port}` })).status).toBe(404);
        expect((await http(served.port, '/v1/cache/abc123', 'PUT', { host: `localhost:${served.port}` }, Buffer.from('ok'))).status).toBe(200);
        expect((await http(served.port, '/v1/cache/abc123', 'GET', { host: `localhost:${served.port}` })).body).toBe('ok');
      } finally {
        await served.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      return 'Host evil.example and Origin http://evil.example got 403 with a message saying why; nothing stored; localhost and 127.0.0.1 served';
    },
  );

  attack(
    {
      item: '10.serve-escape',
      attacker: 'any client of `stride serve`',
      capability: 'sends any path',
      attack: 'a malformed % escape in /v1/cache/{hash}',
      stoppedBy: 'the path is decoded defensively: 400, never a 500',
    },
    async () => {
      const dir = join(ws.root, '..', `stride-serve-escape-${Date.now()}`);
      const served = await startServe(ws, dir, { STRIDE_REMOTE_MODE: 'off', STRIDE_SERVE_TOKEN: MAIN_TOKEN });
      try {
        const auth = { host: `127.0.0.1:${served.port}`, authorization: `Bearer ${MAIN_TOKEN}` };
        const got = await http(served.port, '/v1/cache/%E0%A4%A', 'GET', auth);
        expect(got.status).toBe(400);
        expect((await http(served.port, '/v1/cache/%zz', 'PUT', auth, Buffer.from('x'))).status).toBe(400);
        expect((await http(served.port, '/v1/cache/..%2Fescape', 'GET', auth)).status).toBe(400);
        // The server is still up and answering.
        expect((await http(served.port, '/healthz', 'GET', auth)).body).toBe('ok');
      } finally {
        await served.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      return 'GET /v1/cache/%E0%A4%A and PUT /v1/cache/%zz answered 400; the server kept serving';
    },
  );

  attack(
    {
      item: '3.secrets',
      attacker: 'pull-request job',
      capability: 'reads everything these runs printed',
      attack: 'looks for the signing key, the serve tokens or the AWS secret in the outputs',
      stoppedBy: 'Stride never prints them',
    },
    () => {
      const everything = outputs.join('\n');
      const body = privatePem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
      expect(everything).not.toContain(body);
      expect(everything).not.toContain(MAIN_TOKEN);
      expect(everything).not.toContain(PR_TOKEN);
      expect(everything).not.toContain(TEST_CREDENTIALS.secretAccessKey);
      return `none of the key, the tokens or the AWS secret in ${outputs.length} runs' output`;
    },
  );
});
