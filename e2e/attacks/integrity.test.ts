// Integrity and signing of what Stride stores and shares (issue 18, items 1, 7, 9, 10):
// headers signed whole, incomplete archives refused, old-format artifacts refused,
// the timing history signed and bounded, a store folder shared by PR and main jobs,
// unusable store entries repaired. Every attack runs against real nx runs, a real
// S3 server and real files.
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { parsePublicKey, verifyRecord } from '../../packages/core/src/remote/signing.js';
import { startS3Server, type S3Server } from '../../tools/s3/server.mjs';
import { evilTar } from '../support/evil-tar.js';
import { cutTar, type Header, joinArtifact, sha256, splitArtifact } from '../support/forge.js';
import { s3Client, TEST_CREDENTIALS } from '../support/s3.js';
import { threatModel } from '../support/threat-model.js';
import { createWorkspace, type CommandResult, type TestWorkspace } from '../support/workspace.js';

const { attack } = threatModel(import.meta.filename);

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
/** The build also reads POISON, which no input declares: how a PR's build emits a backdoor under main's hash. */
const COMMAND = 'node ../../tools/build.mjs && node -e "if (process.env.POISON) require(\'fs\').appendFileSync(\'dist/index.js\', \'// POISONED\\n\')"';
const warningsOf = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning'));

describe('integrity: signed whole headers, whole archives, signed timings, trusted store entries', () => {
  let s3: S3Server;
  let client: S3Client;
  let ws: TestWorkspace;
  let privatePem: string;
  let publicLine: string;
  /** Byte for byte, every output of a clean build. */
  let clean: Record<string, string>;
  /** The genuine signed artifacts main's first build uploaded, by task id. */
  const genuine = new Map<string, { key: string; bytes: Buffer }>();
  const trustedEnv = (): NodeJS.ProcessEnv => ({ ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });
  const outputs = (): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);

  const getObject = async (key: string): Promise<Buffer> =>
    Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const putObject = (key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
  const keys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();

  /** A fresh machine of the workspace (empty .stride, no outputs) runs the build. */
  const build = async (env: NodeJS.ProcessEnv): Promise<CommandResult> => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
    const result = await ws.nxAsync(['run-many', '-t', 'build'], env);
    expect(result.code, result.output).toBe(0);
    return result;
  };
  const cacheOf = (): Record<string, string> => Object.fromEntries(ws.lastRun().tasks.map((t) => [t.id, t.cache]));
  const resetTrusted = async (): Promise<void> => {
    for (const { key, bytes } of genuine.values()) await putObject(key, bytes);
  };
  /** A trusted reader's verdict on the object now in the bucket: does its whole header verify? */
  const signedWhole = async (key: string): Promise<boolean> => verifyRecord([parsePublicKey(publicLine, 'test')], splitArtifact(await getObject(key)).header, 'stride-artifact');

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3Client(s3.endpoint);
    ws = createWorkspace({ projects: 3, width: 3 });
    const pair = generateKeyPairSync('ed25519');
    privatePem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    publicLine = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, publicKeys: [publicLine] } } }],
    }));
    for (const p of ws.graph.projects) {
      ws.updateJson<{ targets: { build: { options: { command: string } } } }>(`libs/${p}/project.json`, (json) => {
        json.targets.build.options.command = COMMAND;
        return json;
      });
    }
    ws.git(['add', '-A']);
    ws.git(['commit', '-qm', 'stride with a bucket']);
    await build(trustedEnv());
    clean = ws.digest(outputs());
    for (const task of ws.lastRun().tasks) {
      const key = `stride/trusted/${task.hash}.stride`;
      genuine.set(task.id, { key, bytes: await getObject(key) });
    }
    expect(genuine.size).toBe(3);
  }, 120_000);
  afterAll(async () => {
    client?.destroy();
    ws?.remove();
    await s3?.stop();
  });

  /**
   * Puts a forged object over lib00's genuine one, runs a fresh trusted machine,
   * and checks the forgery was refused (one warning matching `reason`), lib00
   * ran, the others came from the bucket, every output is byte-identical to a
   * clean build, and the trusted writer replaced the object with a signed one.
   */
  const refusedOnMain = async (forged: Buffer, reason: RegExp): Promise<string> => {
    await resetTrusted();
    const { key } = genuine.get('lib00:build')!;
    await putObject(key, forged);
    const result = await build(trustedEnv());
    const warnings = warningsOf(result.stdout);
    expect(warnings, result.stdout).toHaveLength(1);
    expect(warnings[0]).toMatch(reason);
    expect(cacheOf()).toEqual({ 'lib00:build': 'miss', 'lib01:build': 'remote', 'lib02:build': 'remote' });
    expect(ws.digest(outputs())).toEqual(clean);
    expect((await getObject(key)).equals(forged)).toBe(false);
    expect(await signedWhole(key)).toBe(true);
    return `exit 0, lib00 rebuilt, outputs byte-identical, object replaced by a signed one; "${warnings[0]!.slice(16, 150)}..."`;
  };
  const edited = (edit: (parts: ReturnType<typeof splitArtifact>) => Buffer): Buffer => edit(splitArtifact(genuine.get('lib00:build')!.bytes));
  const badSignature = /refused a remote object, stride\/trusted\/[0-9a-f]{16}\.stride \(lib00:build\): .*no valid signature .*over its whole header/;
  const row = {
    attacker: 'bucket writer without the key',
    capability: 'overwrites objects under trusted/ (a policy too wide, or stolen bucket credentials), keeping a genuine signature',
    stoppedBy: 'the Ed25519 signature covers every header field (canonical JSON)',
  };

  attack({ ...row, item: '1', attack: 'moves the archive end into the terminal output: archiveBytes/terminalBytes shifted, sha256s fixed up, signature kept' }, () =>
    refusedOnMain(
      edited(({ header, archive, terminal }) => joinArtifact(header, archive.subarray(0, archive.length - 1024), Buffer.concat([archive.subarray(archive.length - 1024), terminal]))),
      badSignature,
    ),
  );

  attack({ ...row, item: '1', attack: 'swaps the archive for a poisoned one and sets archiveSha256 to match, signature kept' }, () =>
    refusedOnMain(
      edited(({ header, terminal }) => joinArtifact(header, evilTar([{ name: 'libs/lib00/dist/index.js', type: 'file', body: '// POISONED\n' }]), terminal)),
      badSignature,
    ),
  );

  attack({ ...row, item: '1', attack: 'empties the header\'s outputs list (so nothing is cleared or checked against them), signature kept' }, () =>
    refusedOnMain(edited(({ header, archive, terminal }) => joinArtifact({ ...header, outputs: [] }, archive, terminal)), badSignature),
  );

  attack({ ...row, item: '1', attack: 'rewrites taskId to another task, signature kept' }, () =>
    refusedOnMain(edited(({ header, archive, terminal }) => joinArtifact({ ...header, taskId: 'lib01:build' }, archive, terminal)), badSignature),
  );

  attack({ ...row, item: '1', attack: 'inflates durationMs to fake the time saved (savedMs), signature kept' }, () =>
    refusedOnMain(edited(({ header, archive, terminal }) => joinArtifact({ ...header, durationMs: 9_000_000_000 }, archive, terminal)), badSignature),
  );

  attack(
    {
      item: '1',
      attacker: 'anyone holding an artifact an older Stride signed',
      capability: 'replays a genuine format-1 artifact (its signature covered only kind, format, hash, payload sha256), edited where that signature did not look',
      attack: 'puts a v1-style header signed with main\'s real key, outputs emptied, under trusted/',
      stoppedBy: 'format 2: trusted readers refuse format-1 headers, which are not wholly signed',
    },
    async () => {
      const forged = edited(({ header, archive, terminal }) => {
        const payloadSha256 = sha256(Buffer.concat([archive, terminal]));
        const message = Buffer.from(`stride-artifact\n${String(header.strideFormat)}\n${String(header.hash)}\n${payloadSha256}\n`);
        const { magic: _m, format: _f, scope: _s, terminalSha256: _t, signature: _sig, ...rest } = header;
        const v1: Header = {
          magic: 'stride-artifact',
          version: 1,
          ...rest,
          outputs: [],
          payloadSha256,
          signature: { keyId: (header.signature as { keyId: string }).keyId, value: sign(null, message, privatePem).toString('base64') },
        };
        return Buffer.concat([Buffer.from(`${JSON.stringify(v1)}\n`), archive, terminal]);
      });
      return refusedOnMain(forged, /refused a remote object, .*\(lib00:build\): .*old format 1, whose header is not wholly signed/);
    },
  );

  attack(
    {
      item: '1',
      attacker: 'pull-request job',
      capability: 'writes its own scope (scopes/pr-9/) with its OIDC role',
      attack: 'uploads, under main\'s hash, an unsigned artifact whose tar is cut at an entry boundary (no end blocks, dist/meta.json missing), header consistent; its own PR run reads it',
      stoppedBy: 'the archive must end on its end-of-archive blocks, checked in the checksummed bytes before anything is imported or extracted',
    },
    async () => {
      await resetTrusted();
      const forged = edited(({ header, archive, terminal }) => joinArtifact({ ...header, scope: 'pr-9', signature: undefined }, cutTar(archive, 2), terminal));
      const key = genuine.get('lib00:build')!.key.replace('/trusted/', '/scopes/pr-9/');
      await putObject(key, forged);
      // Every run reads trusted/ first: with main's object there, the PR run never looks at its scope. A hash
      // main has not built yet (its object gone) is what a PR's own scope is read for.
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: genuine.get('lib00:build')!.key }));
      const result = await build({ ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'pr-9' });
      await resetTrusted();
      const warnings = warningsOf(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/refused a remote object, stride\/scopes\/pr-9\/.*incomplete archive: it has no end-of-archive blocks/);
      // Its own scope's object refused: lib00 ran, the others came whole from trusted/.
      expect(cacheOf()).toEqual({ 'lib00:build': 'miss', 'lib01:build': 'remote', 'lib02:build': 'remote' });
      expect(ws.digest(outputs())).toEqual(clean);
      return `exit 0, the cut object refused, lib00 ran, the rest restored whole from trusted/; "${warnings[0]!.slice(16, 170)}..."`;
    },
  );

  attack(
    {
      item: '1',
      attacker: 'anyone who can write the local store folder',
      capability: 'edits a store entry (outputs.tar and a consistent meta.json)',
      attack: 'cuts outputs.tar at an entry boundary and fixes up archiveBytes and archiveSha256',
      stoppedBy: 'restores refuse a tar without its end-of-archive blocks; the entry is removed and stored afresh',
    },
    async () => {
      await build({ STRIDE_REMOTE_MODE: 'off' });
      const hash = ws.lastRun().tasks.find((t) => t.id === 'lib00:build')!.hash as string;
      const dir = join(ws.root, '.stride/cache', hash.slice(0, 2), hash);
      const cut = cutTar(readFileSync(join(dir, 'outputs.tar')), 2);
      writeFileSync(join(dir, 'outputs.tar'), cut);
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Header;
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, archiveBytes: cut.length, archiveSha256: sha256(cut) }));
      rmSync(join(ws.root, 'libs/lib00/dist'), { recursive: true });
      const result = await ws.nxAsync(['run-many', '-t', 'build'], { STRIDE_REMOTE_MODE: 'off' });
      expect(result.code, result.output).toBe(0);
      const warnings = warningsOf(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/lib00:build: could not restore .*incomplete archive: it has no end-of-archive blocks/);
      expect(cacheOf()['lib00:build']).toBe('miss');
      expect(ws.digest(outputs())).toEqual(clean);
      // Stored afresh: the next run restores it with no warning.
      rmSync(join(ws.root, 'libs/lib00/dist'), { recursive: true });
      const again = await ws.nxAsync(['run-many', '-t', 'build'], { STRIDE_REMOTE_MODE: 'off' });
      expect(warningsOf(again.stdout)).toEqual([]);
      expect(cacheOf()['lib00:build']).toBe('local');
      expect(ws.digest(outputs())).toEqual(clean);
      return `exit 0, lib00 rebuilt, outputs byte-identical, the next run a clean local hit; "${warnings[0]!.slice(16, 150)}..."`;
    },
  );

  attack(
    {
      item: '7',
      attacker: 'bucket writer without the key',
      capability: 'writes timings/trusted.json',
      attack: 'uploads an unsigned timing history saying lib00:build takes 1e15 ms (and was timed in the far future), to skew stride shard and make shards wait for ever',
      stoppedBy: 'the trusted timing history is signed whole and refused without a valid signature; a trusted run replaces it; every duration read is clamped to 24 h, every shard wait capped',
    },
    async () => {
      const timingsKey = 'stride/timings/trusted.json';
      await putObject(timingsKey, JSON.stringify({ version: 1, tasks: { 'lib00:build': { ms: 1e15, runs: 1, at: 1e15 } } }));
      rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
      const shard = async (env: NodeJS.ProcessEnv): Promise<{ predictedMsByShard: number[]; stderr: string }> => {
        const result = await ws.strideAsync(['shard', '--total', '2', '--index', '0', '--json', '-t', 'build'], env);
        expect(result.code, result.output).toBe(0);
        return { ...(JSON.parse(result.stdout) as { predictedMsByShard: number[] }), stderr: result.stderr };
      };
      for (const env of [trustedEnv(), { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'pr-3' }]) {
        const before = await shard(env);
        expect(before.stderr).toMatch(/ignored the timing history stride\/timings\/trusted\.json: it carries no valid signature/);
        // Nothing known: every task at the default estimate, the split even.
        expect(Math.max(...before.predictedMsByShard)).toBeLessThan(60_000);
      }
      await resetTrusted();
      ws.write('libs/lib00/src/index.js', "export const lib00 = 'edited';\n");
      const result = await build(trustedEnv());
      const warnings = warningsOf(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/ignored the timing history stride\/timings\/trusted\.json: .*a trusted run with the signing key replaces it with a signed one/);
      const replaced = JSON.parse((await getObject(timingsKey)).toString('utf8')) as { tasks: Record<string, { ms: number }> };
      expect(verifyRecord([parsePublicKey(publicLine, 'test')], replaced, 'stride-timings')).toBe(true);
      expect(replaced.tasks['lib00:build']?.ms).toBeLessThan(60_000);
      rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
      const after = await shard(trustedEnv());
      expect(after.stderr).not.toMatch(/ignored the timing history/);
      expect(Math.max(...after.predictedMsByShard)).toBeLessThan(60_000);
      ws.git(['checkout', '--', 'libs/lib00/src/index.js']);
      return `shard refused it as trusted and PR reader (max shard ${Math.max(...after.predictedMsByShard)} ms); main ignored it with one warning and replaced it with a signed history`;
    },
    120_000,
  );

  attack(
    {
      item: '9',
      attacker: 'pull-request job on a self-hosted runner',
      capability: 'shares main\'s persistent STRIDE_CACHE_DIRECTORY, builds with its own code under main\'s hashes',
      attack: 'a PR run stores poisoned outputs under main\'s hashes in the shared store folder; a main run with the same folder follows',
      stoppedBy: 'store entries record the scope that wrote them and are signed by trusted runs; a trusted run with publicKeys restores only entries with a valid signature, removes the rest and stores its own',
    },
    async () => {
      const shared = mkdtempSync(join(tmpdir(), 'stride-shared-store-'));
      try {
        const local = { STRIDE_CACHE_DIRECTORY: shared, STRIDE_REMOTE_MODE: 'off' };
        await build({ ...local, STRIDE_REMOTE_SCOPE: 'pr-5', POISON: '1' });
        expect(ws.read('libs/lib00/dist/index.js')).toContain('POISONED');
        const main = await build({ ...local, STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });
        const warnings = warningsOf(main.stdout);
        expect(warnings, main.stdout).toHaveLength(1);
        expect(warnings[0]).toMatch(/removed 3 local cache entries \([0-9a-f]{16}: not restored by this trusted run: it was stored by the untrusted scope pr-5; 2 more\)/);
        expect(Object.values(cacheOf())).toEqual(['miss', 'miss', 'miss']);
        expect(ws.digest(outputs())).toEqual(clean);
        // Main's own entries replaced the PR's: the next main run restores them, signed.
        const next = await build({ ...local, STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });
        expect(warningsOf(next.stdout)).toEqual([]);
        expect(Object.values(cacheOf())).toEqual(['local', 'local', 'local']);
        expect(ws.digest(outputs())).toEqual(clean);
        return `main ran all 3 tasks, outputs clean, one warning; "${warnings[0]!.slice(16, 160)}..."; its next run: 3 local hits`;
      } finally {
        rmSync(shared, { recursive: true, force: true });
      }
    },
    120_000,
  );

  attack(
    {
      item: '10',
      attacker: 'a crash, a full disk, or anyone who can write the store folder',
      capability: 'leaves a garbage meta.json, or removes terminal.txt, in a store entry',
      attack: 'corrupts lib00\'s meta.json and lib01\'s terminal.txt, then runs the build twice',
      stoppedBy: 'unusable entries are removed with one warning, so the task\'s run stores a fresh one (no silent miss, no warning forever)',
    },
    async () => {
      await build({ STRIDE_REMOTE_MODE: 'off' });
      const entry = (id: string): string => {
        const hash = ws.lastRun().tasks.find((t) => t.id === id)!.hash as string;
        return join(ws.root, '.stride/cache', hash.slice(0, 2), hash);
      };
      const meta = join(entry('lib00:build'), 'meta.json');
      const terminal = join(entry('lib01:build'), 'terminal.txt');
      writeFileSync(meta, '{"magic": "stride-artif\u0000 garbage');
      rmSync(terminal);
      const first = await ws.nxAsync(['run-many', '-t', 'build'], { STRIDE_REMOTE_MODE: 'off' });
      expect(first.code, first.output).toBe(0);
      const warnings = warningsOf(first.stdout);
      expect(warnings.length, first.stdout).toBeLessThanOrEqual(2);
      expect(warnings.join('\n')).toMatch(/removed a local cache entry \([0-9a-f]{16}: its meta.json is not valid JSON\)/);
      expect(warnings.join('\n')).toMatch(/lib01:build: could not restore .*no readable terminal.txt \(ENOENT\); it was removed/);
      expect(cacheOf()).toMatchObject({ 'lib00:build': 'miss', 'lib01:build': 'miss', 'lib02:build': 'local' });
      expect(existsSync(terminal)).toBe(true);
      const second = await ws.nxAsync(['run-many', '-t', 'build'], { STRIDE_REMOTE_MODE: 'off' });
      expect(warningsOf(second.stdout)).toEqual([]);
      expect(Object.values(cacheOf())).toEqual(['local', 'local', 'local']);
      expect(ws.digest(outputs())).toEqual(clean);
      return `first run: both tasks rebuilt, ${warnings.length} warning line(s); second run: 3 local hits, no warning`;
    },
  );
});
