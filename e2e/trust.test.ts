import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Server } from '../tools/s3/server.mjs';
import { startS3Server } from '../tools/s3/server.mjs';
import { joinArtifact, resignArtifact, splitArtifact } from './support/forge.js';
import { s3Client, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
/** The build also reads POISON, which no input declares: the CREEP attack's lever. */
const COMMAND = 'node ../../tools/build.mjs && node -e "if (process.env.POISON) require(\'fs\').appendFileSync(\'dist/index.js\', \'// POISONED\\n\')"';

interface KeyPair {
  privatePem: string;
  publicLine: string;
}

describe('CREEP: an untrusted job can never poison what a trusted build restores', () => {
  let s3: S3Server;
  let client: S3Client;
  let main: TestWorkspace;
  let attacker: TestWorkspace;
  let key: KeyPair;
  let oldKey: KeyPair;
  const logs: string[] = [];

  const keygen = (ws: TestWorkspace, name: string): KeyPair => {
    const result = ws.stride(['keygen', '--out', join(ws.root, `${name}.pem`)]);
    expect(result.code, result.output).toBe(0);
    const publicLine = /^\s+"([A-Za-z0-9+/=]+)"$/m.exec(result.stdout)?.[1];
    expect(publicLine).toBeDefined();
    return { privatePem: readFileSync(join(ws.root, `${name}.pem`), 'utf8'), publicLine: publicLine! };
  };

  const configure = (ws: TestWorkspace, publicKeys: string[]): void =>
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, publicKeys } } }],
    }));

  /** A fresh machine of this workspace: empty local store, no outputs. */
  const build = async (ws: TestWorkspace, env: NodeJS.ProcessEnv) => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
    const result = await ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, ...env });
    expect(result.code, result.output).toBe(0);
    logs.push(result.output, ws.read('.stride/runs/last.json'));
    return result;
  };
  const poisoned = (ws: TestWorkspace): string[] => ws.graph.projects.filter((p) => ws.read(`libs/${p}/dist/index.js`).includes('POISONED'));
  const keys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const getObject = async (key: string): Promise<Buffer> =>
    Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const putObject = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
  const trustedEnv = (pair: KeyPair) => ({ STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: pair.privatePem });

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3Client(s3.endpoint);
    main = createWorkspace({ projects: 4, width: 2 });
    attacker = createWorkspace({ projects: 4, width: 2 });
    key = keygen(main, 'current');
    oldKey = keygen(main, 'old');
    for (const ws of [main, attacker]) {
      configure(ws, [key.publicLine]);
      for (const p of ws.graph.projects) {
        ws.updateJson<{ targets: { build: { options: { command: string } } } }>(`libs/${p}/project.json`, (json) => {
          json.targets.build.options.command = COMMAND;
          return json;
        });
      }
    }
  });
  afterAll(async () => {
    client.destroy();
    main.remove();
    attacker.remove();
    await s3.stop();
  });

  it('an attacker limited to its scope: its poisoned uploads land in scopes/pr-1 and main builds clean', async () => {
    await build(attacker, { STRIDE_REMOTE_SCOPE: 'pr-1', POISON: '1' });
    expect(poisoned(attacker)).toEqual(attacker.graph.projects);
    expect((await keys('stride/scopes/pr-1/')).filter((k) => k.endsWith('.stride'))).toHaveLength(4);
    expect(await keys('stride/trusted/')).toEqual([]);

    const result = await build(main, trustedEnv(key));
    expect(poisoned(main)).toEqual([]);
    expect(main.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
    expect(result.stdout).not.toContain('Stride warning');
    expect((await keys('stride/trusted/')).filter((k) => k.endsWith('.stride'))).toHaveLength(4);
  });

  it('an attacker writing straight into trusted/ with the bucket credentials but no private key: still no poison restored', async () => {
    // The misconfigured bucket: the attacker's poisoned objects overwrite main's, unsigned or signed with its own key.
    const poisonedKeys = await keys('stride/scopes/pr-1/');
    for (const [i, source] of poisonedKeys.entries()) {
      const target = source.replace('scopes/pr-1/', 'trusted/');
      if (i % 2 === 0) {
        await client.send(new CopyObjectCommand({ Bucket: s3.bucket, CopySource: `${s3.bucket}/${source}`, Key: target }));
      } else {
        await putObject(target, resign(await getObject(source), oldKey.privatePem));
      }
    }
    const result = await build(main, trustedEnv(key));
    expect(poisoned(main)).toEqual([]);
    expect(main.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
    const warnings = result.stdout.split('\n').filter((l) => l.startsWith('Stride warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/refused 4 remote objects, stride\/trusted\/[0-9a-f]{16}\.stride .*no valid signature/);

    // The trusted writer replaced them with signed ones: the next trusted machine gets clean remote hits.
    await build(main, trustedEnv(key));
    expect(main.lastRun().tasks.map((t) => t.cache)).toEqual(Array(4).fill('remote'));
    expect(poisoned(main)).toEqual([]);
  });

  it('a PR run after main gets every unchanged task from trusted/, and its own uploads stay in its scope', async () => {
    await build(attacker, { STRIDE_REMOTE_SCOPE: 'pr-2' });
    expect(attacker.lastRun().tasks.map((t) => t.cache)).toEqual(Array(4).fill('remote'));
    attacker.write('libs/lib00/src/index.js', "export const lib00 = 'pr change';\n");
    const before = await keys('stride/trusted/');
    await build(attacker, { STRIDE_REMOTE_SCOPE: 'pr-2' });
    expect(await keys('stride/trusted/')).toEqual(before);
    expect((await keys('stride/scopes/pr-2/')).length).toBeGreaterThan(0);
  });

  it('substitution: a signed artifact under another hash, or altered bytes under a kept signature, are refused', async () => {
    const trusted = await keys('stride/trusted/');
    const [first, second] = trusted as [string, string];
    await putObject(second, await getObject(first));
    const original = await getObject(trusted[2]!);
    await putObject(trusted[2]!, alterKeepingSignature(original));
    const result = await build(main, trustedEnv(key));
    expect(poisoned(main)).toEqual([]);
    expect(main.lastRun().remote).toMatchObject({ refused: 2 });
    expect(result.stdout).toMatch(/refused 2 remote objects/);
  });

  it('key rotation: old signatures verify while the old key is listed, and stop when it is removed', async () => {
    // Re-sign everything in trusted/ with the old key, as a writer from before the rotation would have.
    for (const k of await keys('stride/trusted/')) await putObject(k, resign(await getObject(k), oldKey.privatePem));
    configure(main, [key.publicLine, oldKey.publicLine]);
    await build(main, { STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_REMOTE_MODE: 'read-only' });
    expect(main.lastRun().tasks.map((t) => t.cache)).toEqual(Array(4).fill('remote'));
    configure(main, [key.publicLine]);
    await build(main, { STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_REMOTE_MODE: 'read-only' });
    expect(main.lastRun().tasks.map((t) => t.cache)).toEqual(Array(4).fill('miss'));
  });

  it('no private key or secret appears in any output or run record', () => {
    const everything = logs.join('\n');
    for (const pem of [key.privatePem, oldKey.privatePem]) {
      const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
      expect(everything).not.toContain(body);
    }
    expect(everything).not.toContain(TEST_CREDENTIALS.secretAccessKey);
  });
});

/** Re-signs an artifact's header with another private key (what an attacker holding its own key could do). */
function resign(artifact: Buffer, privatePem: string): Buffer {
  // The attacker knows Stride's (public) signature format; what it lacks is main's private key.
  return resignArtifact(artifact, privatePem);
}

/** Flips the last payload byte (the terminal output) and fixes up its checksum, keeping the old signature. */
function alterKeepingSignature(artifact: Buffer): Buffer {
  const { header, archive, terminal } = splitArtifact(artifact);
  const altered = Buffer.from(terminal);
  altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 0x01;
  return joinArtifact(header, archive, altered);
}
