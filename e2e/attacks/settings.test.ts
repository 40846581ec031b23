import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { S3Server } from '../../tools/s3/server.mjs';
import { startS3Server } from '../../tools/s3/server.mjs';
import { TEST_CREDENTIALS } from '../support/s3.js';
import { threatModel } from '../support/threat-model.js';
import { createWorkspace, type CommandResult, type TestWorkspace } from '../support/workspace.js';

/**
 * Robustness attacks on Stride's settings and its local disk (issue 18, items 8
 * and 10): a CI runner whose cache directory is read-only or full, a file edited
 * with its mtime put back, and bad values in every class of setting. Real nx,
 * real s3rver, real read-only and full file systems (tmpfs mounts: these tests
 * run as root here, where chmod stops no write).
 */
const { attack } = threatModel(import.meta.filename);

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));
/** lib01 writes 2 MiB of random bytes: an artifact over 1 MiB streams through a temp file in the cache directory. */
const BIG_OUTPUT = 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'dist/big.bin\', require(\'crypto\').randomBytes(2 * 1024 * 1024))"';
const isRoot = process.getuid?.() === 0;

describe('attacks: settings and the local disk', () => {
  let s3: S3Server;
  let ws: TestWorkspace;
  const scratch = mkdtempSync(join(tmpdir(), 'stride-attack-disk-'));
  const mounts: string[] = [];
  let remoteEnv: NodeJS.ProcessEnv;

  const runs = (): string[] => ws.buildLog().map((line) => line.split(' ')[0] as string);
  const wipeOutputs = (): void => {
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
  };
  const mount = (args: string[], dir: string): void => {
    const result = ws.exec('mount', [...args, dir]);
    expect(result.code, `mount ${args.join(' ')} (needs root): ${result.output}`).toBe(0);
    mounts.push(dir);
  };
  /** nx, killed after 90 s if it hangs (GNU timeout exits 124), so a hang fails the test instead of stalling it. */
  const nxGuarded = (args: string[], env: NodeJS.ProcessEnv): CommandResult => ws.exec('timeout', ['-k', '5', '90', join(ws.root, 'node_modules', '.bin', 'nx'), ...args], env);

  beforeAll(async () => {
    s3 = await startS3Server();
    remoteEnv = { ...AWS_ENV, STRIDE_REMOTE_BUCKET: s3.bucket, STRIDE_REMOTE_ENDPOINT: s3.endpoint, STRIDE_REMOTE_FORCE_PATH_STYLE: 'true', STRIDE_REMOTE_TIMEOUT_MS: '3000', STRIDE_REMOTE_SCOPE: 'pr-1' };
    ws = createWorkspace({ projects: 3, width: 2 });
    ws.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib01/project.json', (p) => {
      p.targets.build.options.command = BIG_OUTPUT;
      return p;
    });
    ws.git(['commit', '-qam', 'lib01 writes a large output']);
    // The bucket holds every task: what a read-only or full machine would want to restore.
    const seed = await ws.nxAsync(['run-many', '-t', 'build'], remoteEnv);
    expect(seed.code, seed.output).toBe(0);
    expect(ws.lastRun().remote?.uploads).toBe(3);
  });
  afterAll(async () => {
    for (const dir of mounts.reverse()) ws.exec('umount', [dir]);
    rmSync(scratch, { recursive: true, force: true });
    ws?.remove();
    await s3?.stop();
  });

  attack(
    {
      item: '8',
      attacker: 'CI runner (no malice)',
      capability: 'gives the job a read-only cache directory (a shared store mounted ro) with a bucket configured',
      attack: 'runs a build whose cache directory takes no writes',
      stoppedBy: 'startup probe of the cache directory: the run restores what it holds, runs the rest, remote off, one warning',
    },
    async () => {
      // A store filled by an earlier run, then made read-only for real: a read-only bind mount
      // as root (chmod stops no write for root), chmod 0555 otherwise.
      const store = join(scratch, 'ro-store');
      const filled = ws.nx(['run-many', '-t', 'build', '--skip-nx-cache'], { STRIDE_CACHE_DIRECTORY: store });
      expect(filled.code, filled.output).toBe(0);
      // As a store that was never written by a run with a remote: no temp folder to fall back on.
      rmSync(join(store, '.tmp'), { recursive: true, force: true });
      let how: string;
      if (isRoot) {
        mount(['--bind', store], store);
        const ro = ws.exec('mount', ['-o', 'remount,bind,ro', store]);
        expect(ro.code, ro.output).toBe(0);
        how = 'a read-only bind mount (EROFS)';
      } else {
        ws.exec('chmod', ['-R', 'a-w', store]);
        how = 'chmod -R a-w (EACCES)';
      }
      expect(() => writeFileSync(join(store, 'probe'), 'x')).toThrow(/EROFS|EACCES/);
      ws.write('libs/lib02/src/extra.js', 'export const extra = 1;\n'); // lib02 misses: the remote would be asked
      wipeOutputs();
      rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
      const before = runs().length;
      try {
        const result = nxGuarded(['run-many', '-t', 'build'], { ...remoteEnv, STRIDE_CACHE_DIRECTORY: store });
        expect(result.code, result.output).toBe(0);
        const warnings = strideWarnings(result.stdout);
        expect(warnings, result.stdout).toHaveLength(1);
        expect(warnings[0]).toContain(`the cache directory ${store} `);
        expect(warnings[0]).toMatch(/STRIDE_CACHE_DIRECTORY/);
        expect(warnings[0]).toMatch(/did not use the remote cache .*; fix: make .* writable, or point STRIDE_CACHE_DIRECTORY at another folder$/);
        const tasks = ws.lastRun().tasks;
        expect(tasks.every((t) => t.status === 'success')).toBe(true);
        expect(tasks.find((t) => t.id === 'lib02:build')?.cache).toBe('miss');
        expect(runs().slice(before)).toEqual(['lib02']);
        for (const p of ws.graph.projects) expect(existsSync(join(ws.root, 'libs', p, 'dist', 'index.js'))).toBe(true);
        return `${how}: exit 0, lib00/lib01 restored from the read-only store, lib02 ran, one warning: "${warnings[0]!.slice(16, 150)}..."`;
      } finally {
        rmSync(join(ws.root, 'libs/lib02/src/extra.js'), { force: true });
      }
    },
  );

  attack(
    {
      item: '8',
      attacker: 'CI runner (no malice)',
      capability: 'gives the job a cache directory on a full disk, or one that fills up during the run, with a bucket configured',
      attack: 'runs a build whose cache directory is full (a filled 256 KiB tmpfs), then one too small for a 2 MiB remote hit (a 1 MiB tmpfs)',
      stoppedBy: 'the startup probe (full at start) and RunStore with the guarded remote tier (full during the run): tasks run, one warning',
    },
    async () => {
      // A real full file system: a tmpfs filled to its last block.
      const full = join(scratch, 'full');
      mkdirSync(full);
      mount(['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs'], full);
      expect(() => writeFileSync(join(full, 'fill'), Buffer.alloc(1024 * 1024))).toThrow(/ENOSPC/);
      expect(() => writeFileSync(join(full, 'one-more'), 'x')).toThrow(/ENOSPC/);
      wipeOutputs();
      rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
      let before = runs().length;
      const atStart = nxGuarded(['run-many', '-t', 'build'], { ...remoteEnv, STRIDE_CACHE_DIRECTORY: full });
      expect(atStart.code, atStart.output).toBe(0);
      const startWarnings = strideWarnings(atStart.stdout);
      expect(startWarnings, atStart.stdout).toHaveLength(1);
      expect(startWarnings[0]).toMatch(new RegExp(`the cache directory ${full} is full \\(ENOSPC.*STRIDE_CACHE_DIRECTORY.*fix: free space in ${full}, or point STRIDE_CACHE_DIRECTORY at another folder$`));
      expect(runs().slice(before).sort()).toEqual(['lib00', 'lib01', 'lib02']);

      // Room for the small hits, not for lib01's 2 MiB: the disk fills in the middle of a download.
      const small = join(scratch, 'small');
      mkdirSync(small);
      mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], small);
      wipeOutputs();
      rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
      before = runs().length;
      const during = nxGuarded(['run-many', '-t', 'build'], { ...remoteEnv, STRIDE_CACHE_DIRECTORY: small });
      expect(during.code, during.output).toBe(0);
      const duringWarnings = strideWarnings(during.stdout);
      expect(duringWarnings, during.stdout).toHaveLength(1);
      expect(duringWarnings[0]).toMatch(new RegExp(`^Stride warning: lib01:build: could not store the result in the local store: the cache directory ${small} is full \\(ENOSPC.*STRIDE_CACHE_DIRECTORY.*fix:`));
      expect(runs().slice(before)).toEqual(['lib01']);
      const tasks = ws.lastRun().tasks;
      expect(tasks.filter((t) => t.cache === 'remote').map((t) => t.id).sort()).toEqual(['lib00:build', 'lib02:build']);
      expect(statSync(join(ws.root, 'libs/lib01/dist/big.bin')).size).toBe(2 * 1024 * 1024);
      return `full at start: exit 0, 3 of 3 ran, one warning "${startWarnings[0]!.slice(16, 110)}..."; full mid-download: exit 0, lib00/lib02 remote hits, lib01 ran, one warning naming the directory and STRIDE_CACHE_DIRECTORY`;
    },
  );

  attack(
    {
      item: '10.ctime',
      attacker: 'developer or tool (no malice)',
      capability: 'edits a source file keeping its size, then puts its mtime back (touch -r)',
      attack: 'a same-size edit with the mtime restored, run after the racy window',
      stoppedBy: 'ctime (and device) in the key of .stride/file-hashes.json entries',
    },
    async () => {
      const file = 'libs/lib00/src/util.js';
      const warm = ws.nx(['run-many', '-t', 'build']);
      expect(warm.code, warm.output).toBe(0);
      const ref = join(scratch, 'mtime-ref');
      writeFileSync(ref, '');
      expect(ws.exec('touch', ['-r', file, ref]).code).toBe(0);
      const original = ws.read(file);
      const edited = original.replace('x + 0', 'x - 0');
      expect(edited.length).toBe(original.length);
      expect(edited).not.toBe(original);
      try {
        ws.write(file, edited);
        expect(ws.exec('touch', ['-r', ref, file]).code).toBe(0);
        expect(statSync(join(ws.root, file)).mtimeMs).toBe(statSync(ref).mtimeMs);
        // Past the 2 s racy window of the new ctime, so only the cache key can see the edit.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        const before = runs().length;
        const result = ws.nx(['run-many', '-t', 'build']);
        expect(result.code, result.output).toBe(0);
        expect(runs().slice(before)).toContain('lib00');
        expect(ws.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
        expect(ws.read('libs/lib00/dist/index.js')).toContain('x - 0');
        return 'same size, mtime equal to the old one, run 2.5 s later: lib00 ran again (execution log), dist holds the edit';
      } finally {
        ws.write(file, original);
      }
    },
  );

  attack(
    {
      item: '10.settings',
      attacker: 'misconfigured CI job or nx.json (no malice)',
      capability: 'sets STRIDE_* variables and nx.json options to values of the wrong class',
      attack: 'empty, out-of-range, fractional, non-boolean and secret-in-nx.json settings',
      stoppedBy: 'settings parsing: each value checked and bounded, the error naming the setting, the value and the fix',
    },
    async () => {
      const plain = ws.read('nx.json');
      const withOptions = (options: Record<string, unknown>): void =>
        ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({ ...nx, plugins: [{ plugin: '@stride/nx', options }] }));
      const remote = { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true };
      const fileInTheWay = join(scratch, 'a-file');
      writeFileSync(fileInTheWay, 'x');
      const cases: Array<{ name: string; env?: NodeJS.ProcessEnv; options?: Record<string, unknown>; expected: RegExp; not?: RegExp }> = [
        { name: 'STRIDE_CACHE_DIRECTORY=""', env: { STRIDE_CACHE_DIRECTORY: '' }, expected: /setting: STRIDE_CACHE_DIRECTORY \(environment\) = ""\s+fix: set STRIDE_CACHE_DIRECTORY/, not: /options\.cacheDirectory/ },
        { name: 'STRIDE_CACHE_DIRECTORY under a file', env: { STRIDE_CACHE_DIRECTORY: join(fileInTheWay, 'cache') }, expected: /cannot be created or used \(ENOTDIR[\s\S]*setting: STRIDE_CACHE_DIRECTORY \(environment\)[\s\S]*fix: point it at a folder/ },
        { name: 'encryptionKey in nx.json', options: { remote: { ...remote, encryptionKey: 'bm90LWEta2V5' } }, expected: /"encryptionKey" looks like a secret[\s\S]*options\.remote\.encryptionKey[\s\S]*STRIDE_ENCRYPTION_KEY or STRIDE_ENCRYPTION_KEY_FILE/, not: /STRIDE_SIGNING_KEY|bm90LWEta2V5/ },
        { name: 'STRIDE_REMOTE_TIMEOUT_MS=3000000000', env: { ...remoteEnv, STRIDE_REMOTE_TIMEOUT_MS: '3000000000' }, expected: /timeoutMs must be a whole number of milliseconds from 1 to 600000[\s\S]*setting: STRIDE_REMOTE_TIMEOUT_MS \(environment\) = "3000000000"[\s\S]*fix: e\.g\. 10000/, not: /TimeoutOverflowWarning/ },
        { name: 'STRIDE_REMOTE_FLUSH_TIMEOUT_MS=1e9', env: { ...remoteEnv, STRIDE_REMOTE_FLUSH_TIMEOUT_MS: '1e9' }, expected: /flushTimeoutMs must be a whole number[\s\S]*STRIDE_REMOTE_FLUSH_TIMEOUT_MS \(environment\) = "1e9"[\s\S]*fix:/ },
        { name: 'uploadConcurrency 0.5', options: { remote: { ...remote, uploadConcurrency: 0.5 } }, expected: /uploadConcurrency must be a whole number of uploads at once from 1 to 64[\s\S]*options\.remote\.uploadConcurrency = 0\.5[\s\S]*fix:/ },
        { name: 'STRIDE_REMOTE_UPLOAD_CONCURRENCY=4.5', env: { ...remoteEnv, STRIDE_REMOTE_UPLOAD_CONCURRENCY: '4.5' }, expected: /STRIDE_REMOTE_UPLOAD_CONCURRENCY \(environment\) = "4\.5"/ },
        { name: 'STRIDE_REMOTE_FORCE_PATH_STYLE=yes', env: { ...remoteEnv, STRIDE_REMOTE_FORCE_PATH_STYLE: 'yes' }, expected: /forcePathStyle must be true or false[\s\S]*setting: STRIDE_REMOTE_FORCE_PATH_STYLE \(environment\) = "yes"[\s\S]*fix: use true or false/ },
        { name: 'STRIDE_REMOTE_ALLOW_INSECURE_HTTP=on', env: { ...remoteEnv, STRIDE_REMOTE_ALLOW_INSECURE_HTTP: 'on' }, expected: /allowInsecureHttp must be true or false[\s\S]*STRIDE_REMOTE_ALLOW_INSECURE_HTTP \(environment\) = "on"/ },
        { name: 'maxArtifactSize "lots"', options: { remote: { ...remote, maxArtifactSize: 'lots' } }, expected: /maxArtifactSize must be a whole number of bytes[\s\S]*= "lots"[\s\S]*fix:/ },
      ];
      const seen: string[] = [];
      try {
        for (const c of cases) {
          if (c.options) withOptions(c.options);
          else ws.write('nx.json', plain);
          const before = runs().length;
          const result = nxGuarded(['run-many', '-t', 'build', '--skip-nx-cache'], c.env ?? {});
          expect(result.code, `${c.name}: ${result.output}`).not.toBe(0);
          expect(result.code, `${c.name} hung`).not.toBe(124);
          expect(result.output, c.name).toMatch(c.expected);
          if (c.not) expect(result.output, c.name).not.toMatch(c.not);
          expect(runs().slice(before), `${c.name}: no task may run`).toEqual([]);
          seen.push(c.name);
        }
      } finally {
        ws.write('nx.json', plain);
      }
      return `${seen.length} of ${cases.length} refused with a non-zero exit before any task ran, naming the setting, the value and the fix: ${seen.join('; ')}`;
    },
  );

  attack(
    {
      item: '10.proc',
      attacker: 'misconfigured CI job (no malice)',
      capability: 'points STRIDE_CACHE_DIRECTORY (or STRIDE_PROFILE) under /proc',
      attack: 'a cache directory the file system refuses, which hung the run forever',
      stoppedBy: "makeDir (util/local-disk.ts) instead of Node's recursive mkdir, which spins on ENOENT under an existing parent",
    },
    async () => {
      const before = runs().length;
      const result = nxGuarded(['run-many', '-t', 'build', '--skip-nx-cache'], { STRIDE_CACHE_DIRECTORY: '/proc/stride-cache' });
      expect(result.code, 'hung until killed').not.toBe(124);
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toMatch(/the cache directory \/proc\/stride-cache cannot be created or used \(ENOENT[\s\S]*setting: STRIDE_CACHE_DIRECTORY \(environment\) = "\/proc\/stride-cache"[\s\S]*fix:/);
      expect(runs().slice(before)).toEqual([]);
      // The trace's folder went through the same mkdir: the run finishes, with a warning naming STRIDE_PROFILE.
      const traced = nxGuarded(['run-many', '-t', 'build'], { STRIDE_PROFILE: '/proc/stride-trace/trace.json' });
      expect(traced.code, traced.output).not.toBe(124);
      expect(traced.code, traced.output).toBe(0);
      expect(strideWarnings(traced.stdout).join('\n')).toMatch(/could not write the trace to \/proc\/stride-trace\/trace\.json \(STRIDE_PROFILE\)/);
      return 'exit non-zero, no task ran, "cannot be created or used (ENOENT...)" naming STRIDE_CACHE_DIRECTORY; STRIDE_PROFILE under /proc: exit 0 with one warning';
    },
  );
});
