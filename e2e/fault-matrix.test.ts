import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../packages/core/src/remote/signing.js';
import { ENTRY_FORMAT } from '../packages/core/src/store/local-store.js';
import { evilTar, type TarEntry } from './support/evil-tar.js';
import { s3Client, startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

/**
 * The fault matrix (issue 8): every case runs the real `nx` against the real S3
 * server (through the TCP fault proxy where the fault is on the wire) and checks
 * the exact outcome: exit code, output bytes, run record, store contents, the
 * single warning. Each case adds a row; `pnpm reliability` turns the rows into
 * RELIABILITY.md.
 */

interface Row {
  group: string;
  case: string;
  expected: string;
  observed: string;
  pass: boolean;
}
const rows: Row[] = [];
let pending: Omit<Row, 'pass'> | undefined;
const ROWS_FILE = process.env.STRIDE_FAULT_MATRIX_OUT ?? resolve(import.meta.dirname, '..', 'dist', 'fault-matrix.json');

/** Declares the case's row before it runs: a case that fails is reported as such. */
function expectRow(group: string, name: string, expected: string): void {
  pending = { group, case: name, expected, observed: 'the case failed before it finished (see the test output)' };
}
/** What was observed, once every assertion passed. */
function observed(text: string): void {
  if (pending) rows.push({ ...pending, observed: text, pass: true });
  pending = undefined;
}
afterEach(() => {
  if (pending) rows.push({ ...pending, pass: false });
  pending = undefined;
});
afterAll(() => {
  mkdirSync(dirname(ROWS_FILE), { recursive: true });
  writeFileSync(ROWS_FILE, `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
});

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));
const outputs = (ws: TestWorkspace): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);
const wipe = (ws: TestWorkspace): void => {
  rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
  for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
};
const useRemote = (ws: TestWorkspace, remote: Record<string, unknown>): void =>
  ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options: { remote: { forcePathStyle: true, timeoutMs: 1500, ...remote } } }] }));
const noRemote = (ws: TestWorkspace): void => ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: ['@stride/nx'] }));

/** Every entry of a local store: whole (meta, archive with its recorded sha256, terminal output) or not. */
function storeEntries(storeDir: string): Array<{ hash: string; whole: boolean }> {
  if (!existsSync(storeDir)) return [];
  const out: Array<{ hash: string; whole: boolean }> = [];
  for (const shard of readdirSync(storeDir).filter((d) => /^[0-9a-f]{2}$/.test(d))) {
    for (const hash of readdirSync(join(storeDir, shard))) {
      const dir = join(storeDir, shard, hash);
      let whole = false;
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { archiveSha256: string | null };
        const archiveOk = meta.archiveSha256 === null || createHash('sha256').update(readFileSync(join(dir, 'outputs.tar'))).digest('hex') === meta.archiveSha256;
        whole = archiveOk && existsSync(join(dir, 'terminal.txt'));
      } catch {
        whole = false;
      }
      out.push({ hash, whole });
    }
  }
  return out;
}
const tempsIn = (storeDir: string): string[] => (existsSync(join(storeDir, '.tmp')) ? readdirSync(join(storeDir, '.tmp')) : []);

describe('fault matrix: the remote', () => {
  let server: Awaited<ReturnType<typeof startS3WithProxy>>;
  let seed: TestWorkspace;
  let machine: TestWorkspace;
  let expected: Record<string, string>;
  const build = (ws: TestWorkspace, env: NodeJS.ProcessEnv = {}) => ws.nxAsync(['run-many', '-t', 'build'], { ...AWS_ENV, STRIDE_REMOTE_SCOPE: 'trusted', ...env });

  beforeAll(async () => {
    server = await startS3WithProxy();
    seed = createWorkspace({ projects: 4, width: 2 });
    machine = createWorkspace({ projects: 4, width: 2 });
    useRemote(seed, { bucket: server.s3.bucket, endpoint: server.s3.endpoint });
    useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint });
    const cold = await build(seed);
    expect(cold.code, cold.output).toBe(0);
    expected = seed.digest(outputs(seed));
  });
  afterAll(async () => {
    seed.remove();
    machine.remove();
    await server.stop();
  });

  /** A fresh machine pulls through the proxy in `mode`: the build must succeed, right bytes, one warning, nothing bad restored. */
  async function pullUnder(mode: Parameters<typeof server.proxy.setMode>[0], env: NodeJS.ProcessEnv = {}) {
    wipe(machine);
    server.proxy.setMode(mode);
    try {
      const result = await build(machine, { STRIDE_REMOTE_MODE: 'read-only', ...env });
      expect(result.code, result.output).toBe(0);
      expect(machine.digest(outputs(machine))).toEqual(expected);
      const warnings = strideWarnings(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      const record = machine.lastRun();
      expect(record.tasks.every((t) => t.status === 'success')).toBe(true);
      const ran = record.tasks.filter((t) => t.cache === 'miss').length;
      return { warning: warnings[0] as string, ran, record };
    } finally {
      server.proxy.setMode({ kind: 'pass' });
    }
  }

  it('remote down at start', async () => {
    expectRow('remote', 'Remote down at start (connection refused)', 'exit 0, right outputs, every task runs, one warning naming the endpoint');
    wipe(machine);
    useRemote(machine, { bucket: server.s3.bucket, endpoint: 'http://127.0.0.1:9' });
    try {
      const result = await build(machine, { STRIDE_REMOTE_MODE: 'read-only' });
      expect(result.code, result.output).toBe(0);
      expect(machine.digest(outputs(machine))).toEqual(expected);
      const warnings = strideWarnings(result.stdout);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/127\.0\.0\.1:9/);
      expect(machine.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
      observed(`exit 0, outputs identical, 4 of 4 ran; "${warnings[0]!.slice(16, 110)}..."`);
    } finally {
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint });
    }
  });

  it('remote dies mid-run', async () => {
    expectRow('remote', 'Remote dies mid-run (every connection dropped from then on)', 'exit 0, right outputs, uploads that fail are reported in one warning, nothing half-written restored');
    wipe(machine);
    const running = build(machine, { BUILD_SLEEP_MS: '600', STRIDE_REMOTE_MODE: 'read-write' });
    machine.write('libs/lib00/src/util.js', 'export const changed = 1;\n');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    server.proxy.setMode({ kind: 'drop' });
    try {
      const result = await running;
      expect(result.code, result.output).toBe(0);
      const warnings = strideWarnings(result.stdout);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/unavailable|switched off/);
      expect(machine.lastRun().tasks.every((t) => t.status === 'success')).toBe(true);
      observed(`exit 0, all tasks succeeded, 1 warning: "${warnings[0]!.slice(16, 100)}..."`);
    } finally {
      server.proxy.setMode({ kind: 'pass' });
      // Only the edit: nx.json's remote settings are not committed.
      machine.git(['checkout', '--', 'libs/lib00/src/util.js']);
    }
  });

  it.each([
    ['Every request delayed past the timeout', { kind: 'delay', ms: 4000 } as const, /unavailable|switched off/],
    ['Server answers 500', { kind: 'status', code: 500 } as const, /unavailable|switched off/],
    ['Server answers 503 SlowDown', { kind: 'status', code: 503, s3Code: 'SlowDown' } as const, /unavailable|switched off/],
    ['A download cut mid-stream', { kind: 'cut', afterBytes: 900 } as const, /unavailable|switched off|truncated/],
    ['An object with flipped bytes', { kind: 'corrupt', afterBytes: 700 } as const, /refused|unavailable|switched off/],
  ])('%s', async (name, mode, warning) => {
    expectRow('remote', name, 'exit 0, right outputs, the tasks concerned run, one warning, nothing bad restored');
    const { warning: seen, ran } = await pullUnder(mode);
    expect(seen).toMatch(warning);
    observed(`exit 0, outputs identical, ${ran} of 4 ran, 1 warning: "${seen.slice(16, 100)}..."`);
  });

  it.each([
    ['A truncated object in the bucket', 'sizes do not add up', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['An object with one byte flipped in the bucket', 'its sha256 does not match', (bytes: Buffer) => {
      const flipped = Buffer.from(bytes);
      flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0x20;
      return flipped;
    }],
  ])('%s', async (name, why, damage) => {
    expectRow('remote', name, `exit 0, the object is refused (${why}), its task runs, one warning`);
    const client = s3Client(server.s3.endpoint);
    const keys = ((await client.send(new ListObjectsV2Command({ Bucket: server.s3.bucket, Prefix: 'stride/trusted/' }))).Contents ?? []).map((o) => o.Key as string).filter((k) => k.endsWith('.stride'));
    const key = keys[0] as string;
    const original = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: server.s3.bucket, Key: key }))).Body!.transformToByteArray());
    await client.send(new PutObjectCommand({ Bucket: server.s3.bucket, Key: key, Body: damage(original) }));
    try {
      const { warning, ran, record } = await pullUnder({ kind: 'pass' });
      expect(warning).toMatch(/refused a remote object/);
      expect(ran).toBe(1);
      expect(record.remote?.refused).toBe(1);
      observed(`exit 0, outputs identical, 1 refused and run, 3 restored; "${warning.slice(16, 120)}..."`);
    } finally {
      await client.send(new PutObjectCommand({ Bucket: server.s3.bucket, Key: key, Body: original }));
      client.destroy();
    }
  });

  it('two machines uploading the same hashes at once', async () => {
    expectRow('remote', 'Two machines uploading the same hashes at the same moment', 'both exit 0; every object whole: a third machine restores all of them byte for byte, refusing none');
    const twins = [createWorkspace({ projects: 4, width: 2 }), createWorkspace({ projects: 4, width: 2 })];
    try {
      for (const twin of twins) useRemote(twin, { bucket: server.s3.bucket, endpoint: server.s3.endpoint, prefix: 'twins' });
      const results = await Promise.all(twins.map((twin) => build(twin)));
      for (const result of results) expect(result.code, result.output).toBe(0);
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint, prefix: 'twins' });
      wipe(machine);
      const pulled = await build(machine, { STRIDE_REMOTE_MODE: 'read-only' });
      expect(pulled.code, pulled.output).toBe(0);
      expect(machine.lastRun().tasks.map((t) => t.cache)).toEqual(Array(4).fill('remote'));
      expect(machine.lastRun().remote?.refused).toBe(0);
      expect(machine.digest(outputs(machine))).toEqual(expected);
      const uploads = twins.map((twin) => twin.lastRun().remote!.uploads);
      observed(`both exit 0 (${uploads.join(' and ')} uploads), the third machine restored 4 of 4, 0 refused, bytes identical`);
    } finally {
      for (const twin of twins) twin.remove();
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint });
    }
  });

  it('an archive larger than the configured limit', async () => {
    expectRow('remote', 'An object larger than remote.maxArtifactSize', 'not downloaded past the limit, refused, the task runs, one warning');
    useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint, maxArtifactSize: 64 });
    try {
      const { warning, ran } = await pullUnder({ kind: 'pass' });
      expect(warning).toMatch(/refused/);
      expect(ran).toBe(4);
      observed(`exit 0, outputs identical, 4 of 4 refused and run; "${warning.slice(16, 110)}..."`);
    } finally {
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint });
    }
  });

  it.each([
    ['An object signed with another key', true],
    ['An unsigned object when public keys are set', false],
  ])('%s', async (name, signed) => {
    expectRow('remote', name, 'never restored by a trusted run with remote.publicKeys: refused, the task runs, one warning');
    const trustedKey = generateSigningKeyPair();
    const otherKey = generateSigningKeyPair();
    const prefix = signed ? 'other-key' : 'unsigned';
    // A writer with bucket access but not the trusted private key: it writes straight into trusted/.
    const writer = createWorkspace({ projects: 4, width: 2 });
    try {
      useRemote(writer, { bucket: server.s3.bucket, endpoint: server.s3.endpoint, prefix });
      const wrote = await build(writer, signed ? { STRIDE_SIGNING_KEY: otherKey.privateKeyPem } : {});
      expect(wrote.code, wrote.output).toBe(0);
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint, prefix, publicKeys: [trustedKey.publicKey] });
      const { warning, ran } = await pullUnder({ kind: 'pass' }, { STRIDE_SIGNING_KEY: trustedKey.privateKeyPem });
      expect(warning).toMatch(/no valid signature/);
      expect(ran).toBe(4);
      observed(`exit 0, outputs identical, 4 of 4 refused and rebuilt; "${warning.slice(16, 110)}..."`);
    } finally {
      writer.remove();
      useRemote(machine, { bucket: server.s3.bucket, endpoint: server.proxy.endpoint });
    }
  });
});

describe('fault matrix: the local store and the workspace', () => {
  let ws: TestWorkspace;
  let clean: Record<string, string>;
  const store = (): string => join(ws.root, '.stride', 'cache');

  beforeAll(() => {
    ws = createWorkspace({ projects: 3, width: 3 });
    const cold = ws.nx(['run-many', '-t', 'build']);
    expect(cold.code, cold.output).toBe(0);
    clean = ws.digest(outputs(ws));
  });
  afterAll(() => ws.remove());

  it.each<[string, TarEntry[], string]>([
    ['an archive holding ../', [{ name: '../../../escaped.txt', type: 'file', body: 'pwned' }], '../../../escaped.txt'],
    ['an archive holding an absolute path', [{ name: `${tmpdir()}/stride-absolute-${process.pid}.txt`, type: 'file', body: 'pwned' }], `${tmpdir()}/stride-absolute-${process.pid}.txt`],
    ['an archive holding a symlink out of the workspace', [{ name: 'libs/lib00/dist/out', type: 'symlink', linkname: '/etc' }, { name: 'libs/lib00/dist/out/stride-evil', type: 'file', body: 'x' }], '/etc/stride-evil'],
    ['an archive holding a hard link', [{ name: 'libs/lib00/dist/passwd', type: 'hardlink', linkname: '/etc/passwd' }], ''],
    ['an archive holding a device file', [{ name: 'libs/lib00/dist/dev', type: 'char-device' }], ''],
  ])('%s', (name, entries, outside) => {
    expectRow('restore', `A store entry with ${name.replace(/^an archive holding /, '')}`, 'refused before anything is written, nothing outside the workspace, the task runs, one warning');
    const task = ws.lastRun().tasks.find((t) => t.id === 'lib00:build')!;
    const hash = task.hash as string;
    const dir = join(store(), hash.slice(0, 2), hash);
    const tar = evilTar(entries);
    writeFileSync(join(dir, 'outputs.tar'), tar);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, format: ENTRY_FORMAT, archiveBytes: tar.length, archiveSha256: createHash('sha256').update(tar).digest('hex') }));
    rmSync(join(ws.root, 'libs', 'lib00', 'dist'), { recursive: true, force: true });
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code, result.output).toBe(0);
    const warnings = strideWarnings(result.stdout);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/lib00:build: could not restore/);
    if (outside) expect(existsSync(resolve(ws.root, outside))).toBe(false);
    expect(readFileSync('/etc/passwd', 'utf8').length).toBeGreaterThan(0);
    expect(ws.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
    expect(ws.digest(outputs(ws))).toEqual(clean);
    observed(`exit 0, outputs identical, lib00 rebuilt; "${warnings[0]!.slice(16, 130)}..."`);
  });

  it('two Stride runs on the same workspace and store at once', async () => {
    expectRow('local', 'Two Stride runs on the same workspace and store at once', 'both exit 0, right outputs, every store entry whole, no temp files left');
    rmSync(store(), { recursive: true, force: true });
    const [a, b] = await Promise.all([ws.nxAsync(['run-many', '-t', 'build']), ws.nxAsync(['run-many', '-t', 'build'])]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    const entries = storeEntries(store());
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.whole)).toBe(true);
    expect(tempsIn(store())).toEqual([]);
    expect(ws.digest(outputs(ws))).toEqual(clean);
    observed('both exit 0, outputs identical, 3 whole entries, no temp files');
  });

  /** Starts nx in its own process group, waits until `ready()` holds, then kill -9s the whole group. */
  async function killWhen(env: NodeJS.ProcessEnv, ready: () => boolean): Promise<boolean> {
    const child = spawn(join(ws.root, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build'], {
      cwd: ws.root,
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', ...env },
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    let killed = false;
    for (let i = 0; i < 3000 && child.exitCode === null; i++) {
      if (ready()) {
        process.kill(-(child.pid as number), 'SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await exited;
    return killed;
  }

  it('kill -9 during a local store write, then during a restore', async () => {
    expectRow('local', 'kill -9 of Stride during a store write, then during a restore', 'the next run is correct, the store holds no partial entry, abandoned temp files are removed');
    const BIG = 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'dist/big.bin\', require(\'crypto\').randomBytes(48 * 1024 * 1024))"';
    ws.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib02/project.json', (p) => {
      p.targets.build.options.command = BIG;
      return p;
    });
    try {
      rmSync(store(), { recursive: true, force: true });
      const duringWrite = await killWhen({}, () => tempsIn(store()).length > 0);
      expect(duringWrite).toBe(true);
      expect(storeEntries(store()).every((e) => e.whole)).toBe(true);
      const next = ws.nx(['run-many', '-t', 'build']);
      expect(next.code, next.output).toBe(0);
      expect(storeEntries(store()).every((e) => e.whole)).toBe(true);
      expect(storeEntries(store())).toHaveLength(3);
      expect(tempsIn(store())).toEqual([]);
      const built = ws.digest(outputs(ws));

      rmSync(join(ws.root, 'libs', 'lib02', 'dist'), { recursive: true, force: true });
      const duringRestore = await killWhen({}, () => existsSync(join(ws.root, 'libs', 'lib02', 'dist')));
      expect(duringRestore).toBe(true);
      const after = ws.nx(['run-many', '-t', 'build']);
      expect(after.code, after.output).toBe(0);
      expect(ws.lastRun().tasks.find((t) => t.id === 'lib02:build')?.cache).toBe('local');
      expect(ws.digest(outputs(ws))).toEqual(built);
      observed('killed mid-write and mid-restore; next runs exit 0, 3 whole entries, no temp files, restored bytes identical');
    } finally {
      ws.git(['checkout', '--', 'libs/lib02/project.json']);
      rmSync(join(ws.root, 'libs', 'lib02', 'dist'), { recursive: true, force: true });
      ws.nx(['run-many', '-t', 'build']);
    }
  });

  it('a full disk during a store write', () => {
    expectRow('local', 'A full disk during a store write (a 4 MB tmpfs as the store)', 'exit 0, right outputs, one warning, no partial entry, no temp files');
    const mountPoint = join(tmpdir(), `stride-full-disk-${process.pid}`);
    mkdirSync(mountPoint, { recursive: true });
    const mount = ws.exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
    expect(mount.code, `mounting a tmpfs needs root: ${mount.output}`).toBe(0);
    ws.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib01/project.json', (p) => {
      p.targets.build.options.command = 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'dist/big.bin\', require(\'crypto\').randomBytes(8 * 1024 * 1024))"';
      return p;
    });
    try {
      const result = ws.nx(['run-many', '-t', 'build', '--skip-nx-cache'], { STRIDE_CACHE_DIRECTORY: mountPoint });
      expect(result.code, result.output).toBe(0);
      const warnings = strideWarnings(result.stdout);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/lib01:build: could not store the result in the local store: .*ENOSPC/);
      expect(existsSync(join(ws.root, 'libs', 'lib01', 'dist', 'big.bin'))).toBe(true);
      const entries = storeEntries(mountPoint);
      expect(entries.every((e) => e.whole)).toBe(true);
      expect(entries.map((e) => e.hash)).not.toContain(ws.lastRun().tasks.find((t) => t.id === 'lib01:build')?.hash);
      expect(tempsIn(mountPoint)).toEqual([]);
      observed(`exit 0, outputs written, ${entries.length} whole entries (lib01 not stored), no temp files; "${warnings[0]!.slice(16, 120)}..."`);
    } finally {
      ws.exec('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
      ws.git(['checkout', '--', 'libs/lib01/project.json']);
      rmSync(join(ws.root, 'libs', 'lib01', 'dist'), { recursive: true, force: true });
    }
  });

  it('the .stride folder deleted between runs', () => {
    expectRow('local', 'The .stride folder deleted between runs', 'exit 0, every task runs again, right outputs, no warning');
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code, result.output).toBe(0);
    expect(strideWarnings(result.stdout)).toEqual([]);
    expect(ws.lastRun().tasks.every((t) => t.cache === 'miss' && t.status === 'success')).toBe(true);
    expect(ws.digest(outputs(ws))).toEqual(clean);
    observed('exit 0, 3 of 3 ran, outputs identical, no warning');
  });

  it('a corrupt timings file and a corrupt file-hash cache', () => {
    expectRow('local', 'A corrupt timing history and a corrupt file-hash cache', 'both ignored with a warning each, the run is correct, both rewritten');
    writeFileSync(join(ws.root, '.stride', 'timings.json'), '{"version":1,"tasks":{ broken');
    writeFileSync(join(ws.root, '.stride', 'file-hashes.json'), '\u0000\u0001 not json');
    const result = ws.nx(['run-many', '-t', 'build']);
    expect(result.code, result.output).toBe(0);
    const warnings = strideWarnings(result.stdout).join('\n');
    expect(warnings).toMatch(/timings\.json/);
    expect(warnings).toMatch(/file-hash/);
    expect(ws.lastRun().tasks.every((t) => t.status === 'success')).toBe(true);
    ws.nx(['run-many', '-t', 'build', '--skip-nx-cache']);
    expect(() => JSON.parse(ws.read('.stride/timings.json'))).not.toThrow();
    expect(() => JSON.parse(ws.read('.stride/file-hashes.json'))).not.toThrow();
    observed('exit 0, warnings name timings.json and the file-hash cache, both valid JSON again after the next run');
  });

  it('a task that writes outside its declared outputs', () => {
    expectRow('local', 'A task that writes outside its declared outputs', 'the stray file is not cached or restored, and Stride warns that the outputs are incomplete');
    ws.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib00/project.json', (p) => {
      p.targets.build.options.command = 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'stray.txt\', \'not an output\')"';
      return p;
    });
    try {
      const result = ws.nx(['run-many', '-t', 'build']);
      expect(result.code, result.output).toBe(0);
      const warnings = strideWarnings(result.stdout);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('lib00:build wrote a file outside its declared outputs (libs/lib00/stray.txt)');
      rmSync(join(ws.root, 'libs', 'lib00', 'stray.txt'));
      rmSync(join(ws.root, 'libs', 'lib00', 'dist'), { recursive: true });
      const restored = ws.nx(['run-many', '-t', 'build']);
      expect(restored.code).toBe(0);
      expect(ws.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('local');
      expect(existsSync(join(ws.root, 'libs', 'lib00', 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(ws.root, 'libs', 'lib00', 'stray.txt'))).toBe(false);
      observed(`restore brought dist back but not stray.txt; "${warnings[0]!.slice(16, 140)}..."`);
    } finally {
      ws.git(['checkout', '--', 'libs/lib00/project.json']);
    }
  });
});

describe('fault matrix: secrets and settings', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspace({ projects: 2 });
  });
  afterAll(() => ws.remove());

  it('credentials never appear in logs, records, traces, reports or errors', () => {
    expectRow('security', 'A recognisable fake secret in every credential variable, with the remote failing', 'it appears in no output, run record, trace, report or error');
    const secret = `FAKE-SECRET-${randomBytes(6).toString('hex')}`;
    useRemote(ws, { bucket: 'stride-secret-test', endpoint: 'http://127.0.0.1:9' });
    const env = { AWS_ACCESS_KEY_ID: `AKIA${secret}`, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: secret, STRIDE_REMOTE_SCOPE: 'pr-1', STRIDE_PROFILE: 'trace.json', STRIDE_REPORT: 'report.html' };
    const result = ws.nx(['run-many', '-t', 'build'], env);
    expect(result.code, result.output).toBe(0);
    const badKey = ws.nx(['run-many', '-t', 'build'], { ...env, STRIDE_SIGNING_KEY: secret, STRIDE_ENCRYPTION_KEY: secret });
    expect(badKey.code).not.toBe(0);
    const stats = ws.stride(['stats', '--format=openmetrics']);
    const everything = [result.output, badKey.output, stats.output, ws.read('trace.json'), ws.read('report.html'), ...readdirSync(join(ws.root, '.stride', 'runs')).map((f) => ws.read(`.stride/runs/${f}`))].join('\n');
    expect(everything).not.toContain(secret);
    noRemote(ws);
    observed('searched stdout/stderr of a failing-remote run and a bad-key run, every run record, the trace, the report, stride stats: 0 occurrences');
  });

  it('plain HTTP to a non-loopback host, and keys in nx.json, are refused with the fix', () => {
    expectRow('security', 'An http:// endpoint that is not loopback; a signing or encryption key in nx.json', 'refused before any task runs, naming the setting and the fix');
    const messages: string[] = [];
    for (const [remote, pattern] of [
      [{ bucket: 'ok-bucket', endpoint: 'http://cache.example.com' }, /refusing plain HTTP to cache\.example\.com[\s\S]*fix: use https/],
      [{ bucket: 'ok-bucket', signingKey: 'x' }, /"signingKey" looks like a secret, and secrets never live in nx\.json/],
      [{ bucket: 'ok-bucket', encryptionKey: 'x' }, /"encryptionKey" looks like a secret, and secrets never live in nx\.json/],
    ] as const) {
      useRemote(ws, remote);
      const result = ws.nx(['run-many', '-t', 'build']);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(pattern);
      messages.push(pattern.source.slice(0, 40));
    }
    noRemote(ws);
    observed('all three refused with a non-zero exit, the setting and the fix named');
  });
});
