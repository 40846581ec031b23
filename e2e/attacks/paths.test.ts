// Issue 18, items 2, 5 and 10 (setuid, escaped entry names): every path that comes
// from data (a store entry's meta.json, an artifact header, a tar entry) is confined
// before anything is written or deleted, and links are judged by where they resolve.
// Each attack runs as an attacker would: crafted store entries and tars, a crafted
// scope object in the real S3 server, real `nx` and `stride verify` runs, and real
// victim folders outside the workspace, watched file by file.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { S3Server } from '../../tools/s3/server.mjs';
import { startS3Server } from '../../tools/s3/server.mjs';
import { evilTar, type TarEntry } from '../support/evil-tar.js';
import { s3Client, TEST_CREDENTIALS } from '../support/s3.js';
import { threatModel } from '../support/threat-model.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';

const { attack } = threatModel(import.meta.filename);
const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
/** lib01 writes type declarations too, and declares them as a nested output (dist and dist/types/**). */
const LIB01_COMMAND = 'node ../../tools/build.mjs && node -e "require(\'fs\').mkdirSync(\'dist/types\',{recursive:true});require(\'fs\').writeFileSync(\'dist/types/index.d.ts\',\'export {};\\\\n\')"';

const strideWarnings = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning:'));

/** Every file and folder under `dir` with its bytes' sha256 and mode: what "untouched" means. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string): void => {
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) return;
    const key = path.slice(dir.length) || '/';
    if (info.isDirectory()) {
      out[key] = `dir ${info.mode}`;
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else out[key] = `${info.mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  };
  walk(dir);
  return out;
}

/** A victim folder with a few files, and a check that it is exactly as it was. */
function victimAt(dir: string): { dir: string; untouched: () => void } {
  mkdirSync(join(dir, 'deep'), { recursive: true });
  writeFileSync(join(dir, 'keep.txt'), 'a file the attack wants gone\n');
  writeFileSync(join(dir, 'deep', 'index.d.ts'), 'export {};\n');
  const before = snapshot(dir);
  expect(Object.keys(before).length).toBe(4);
  return { dir, untouched: () => expect(snapshot(dir)).toEqual(before) };
}

describe('attacks on paths: confined before any write or delete, links judged by where they resolve', () => {
  let s3: S3Server;
  let client: S3Client;
  let dev: TestWorkspace;
  let pr: TestWorkspace;
  /** TMPDIR for `stride verify`: its scratch copy is made in here, so `../victim` and `../..` land on watched folders. */
  let outer: string;
  let verifyTmp: string;
  let nearTmp: { dir: string; untouched: () => void };
  let farVictim: { dir: string; untouched: () => void };
  /** Beside the developer's workspace, where the link chains point. */
  let besideWorkspace: { dir: string; untouched: () => void };

  const hashOf = (ws: TestWorkspace, id: string): string => ws.lastRun().tasks.find((t) => t.id === id)?.hash as string;
  const entryDir = (ws: TestWorkspace, hash: string): string => join(ws.root, '.stride', 'cache', hash.slice(0, 2), hash);
  const wipeOutputs = (ws: TestWorkspace): void => {
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
  };
  const build = (ws: TestWorkspace, env: NodeJS.ProcessEnv = {}) => ws.nxAsync(['run-many', '-t', 'build', '--output-style=static'], { ...AWS_ENV, ...env });
  /** Edits a store entry as a writer of the store could: its meta.json fields, or its archive (meta's size and sha256 follow). */
  const craftEntry = (ws: TestWorkspace, id: string, edit: { meta?: Record<string, unknown>; entries?: TarEntry[] }): string => {
    const hash = hashOf(ws, id);
    const dir = entryDir(ws, hash);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    let archive = {};
    if (edit.entries) {
      const tar = evilTar(edit.entries);
      writeFileSync(join(dir, 'outputs.tar'), tar);
      archive = { archiveBytes: tar.length, archiveSha256: createHash('sha256').update(tar).digest('hex') };
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, ...archive, ...edit.meta }));
    return hash;
  };
  /** A genuine entry again: the task's store entry removed, so the next run rebuilds and stores it. */
  const forget = (ws: TestWorkspace, id: string): void => rmSync(entryDir(ws, hashOf(ws, id)), { recursive: true, force: true });
  const verify = (ws: TestWorkspace, id: string) => ws.strideAsync(['verify', '--task', id], { ...AWS_ENV, TMPDIR: verifyTmp });

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3Client(s3.endpoint);
    outer = mkdtempSync(join(tmpdir(), 'stride-paths-'));
    verifyTmp = join(outer, 'tmp');
    mkdirSync(verifyTmp);
    nearTmp = victimAt(join(verifyTmp, 'victim'));
    farVictim = victimAt(join(outer, 'victim'));
    dev = createWorkspace({ projects: 2, width: 2 });
    pr = createWorkspace({ projects: 2, width: 2 });
    besideWorkspace = victimAt(join(dirname(dev.root), `${basename(dev.root)}-victim`));
    for (const ws of [dev, pr]) {
      ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
        ...nx,
        plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true } } }],
      }));
      ws.updateJson<{ targets: { build: { outputs?: string[]; options: { command: string } } } }>('libs/lib01/project.json', (p) => {
        p.targets.build.options.command = LIB01_COMMAND;
        p.targets.build.outputs = ['{projectRoot}/dist', '{projectRoot}/dist/types/**'];
        return p;
      });
      ws.git(['commit', '-qam', 'remote, nested outputs']);
    }
    // The developer's machine: everything built and stored (remote mode off, so the bucket stays the PR's to fill).
    const cold = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
    expect(cold.code, cold.output).toBe(0);
    expect(dev.read('libs/lib01/dist/types/index.d.ts')).toBe('export {};\n');
  }, 120_000);
  afterAll(async () => {
    client?.destroy();
    dev?.remove();
    pr?.remove();
    if (besideWorkspace) rmSync(besideWorkspace.dir, { recursive: true, force: true });
    if (outer) rmSync(outer, { recursive: true, force: true });
    await s3?.stop();
  });

  const everyVictimUntouched = (): void => {
    nearTmp.untouched();
    farVictim.untouched();
    besideWorkspace.untouched();
  };

  attack(
    {
      item: '2',
      attacker: 'writer of the local store (a job sharing STRIDE_CACHE_DIRECTORY)',
      capability: "edits a store entry's meta.json",
      attack: 'sets the entry\'s outputs to ["../victim"], then ["../.."], and waits for `stride verify`',
      stoppedBy: "verify clears and compares the task's declared outputs from Nx's task graph; an entry recording other outputs is the named verdict OUTPUTS DIFFER",
    },
    async () => {
      wipeOutputs(dev);
      const restored = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(restored.code, restored.output).toBe(0);
      expect(dev.lastRun().tasks.map((t) => t.cache)).toEqual(['local', 'local']);
      const seen: string[] = [];
      for (const outputs of [['../victim'], ['../..']]) {
        const hash = craftEntry(dev, 'lib00:build', { meta: { outputs } });
        const result = await verify(dev, 'lib00:build');
        expect(result.code, result.output).toBe(1);
        expect(result.stdout).toMatch(new RegExp(`lib00:build ${hash}: OUTPUTS DIFFER[^\\n]*entry: \\[${JSON.stringify(outputs[0]).replace(/\./g, '\\.')}\\]; declared: \\["libs/lib00/dist"\\]`));
        expect(result.stdout).not.toMatch(/reproduced byte for byte/);
        everyVictimUntouched();
        seen.push(`${outputs[0]}: exit ${result.code}, OUTPUTS DIFFER`);
      }
      // The genuine entry still verifies: the check is about the entry, not the task.
      craftEntry(dev, 'lib00:build', { meta: { outputs: ['libs/lib00/dist'] } });
      const clean = await verify(dev, 'lib00:build');
      expect(clean.code, clean.output).toBe(0);
      expect(clean.stdout).toMatch(/lib00:build [0-9a-f]+: reproduced byte for byte/);
      everyVictimUntouched();
      return `${seen.join('; ')}; both victim folders identical; the genuine entry still "reproduced"`;
    },
    120_000,
  );

  attack(
    {
      item: '2',
      attacker: 'pull-request job',
      capability: 'writes scopes/pr-* with its role (another pull request reads its own scope unsigned)',
      attack: 'uploads into another pull request\'s scope an artifact whose header says outputs ["../victim"]; that pull request restores it and runs `stride verify`',
      stoppedBy: "the restore clears and checks the task's declared outputs; verify uses those too and names the mismatch",
    },
    async () => {
      const upload = await build(pr, { STRIDE_REMOTE_SCOPE: 'pr-8' });
      expect(upload.code, upload.output).toBe(0);
      const hash = hashOf(pr, 'lib01:build');
      const key = `stride/scopes/pr-8/${hash}.stride`;
      const listed = (await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'stride/scopes/pr-8/' }))).Contents ?? [];
      expect(listed.map((o) => o.Key)).toContain(key);
      const object = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
      const newline = object.indexOf(0x0a);
      const header = JSON.parse(object.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.concat([Buffer.from(JSON.stringify({ ...header, outputs: ['../victim'] })), object.subarray(newline)]);
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: forged }));

      // Pull request 8's fresh machine, which reads its own scope without a signature.
      rmSync(join(dev.root, '.stride'), { recursive: true, force: true });
      wipeOutputs(dev);
      const restored = await build(dev, { STRIDE_REMOTE_SCOPE: 'pr-8' });
      expect(restored.code, restored.output).toBe(0);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib01:build')?.cache).toBe('remote');
      expect(dev.read('libs/lib01/dist/types/index.d.ts')).toBe('export {};\n');
      const result = await verify(dev, 'lib01:build');
      expect(result.code, result.output).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`lib01:build ${hash}: OUTPUTS DIFFER[^\\n]*entry: \\["\\.\\./victim"\\]`));
      everyVictimUntouched();
      return 'pull request 8 restored it (outputs in place), verify exit 1 OUTPUTS DIFFER; victim folders identical';
    },
    120_000,
  );

  attack(
    {
      item: '5',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: "puts any tar in a store entry's outputs.tar",
      attack: 'links that each look inside: dist/up -> ../../.. then dist/esc -> up/.. (and a deeper dist/a -> ., dist/b -> a/../../../..), with files written through them',
      stoppedBy: "every link is resolved component by component through the archive's links and the disk's (40 hops) before anything is written",
    },
    async () => {
      const victimName = basename(besideWorkspace.dir);
      const variants: TarEntry[][] = [
        [
          { name: 'libs/lib00/dist/', type: 'directory' },
          { name: 'libs/lib00/dist/up', type: 'symlink', linkname: '../../..' },
          { name: 'libs/lib00/dist/esc', type: 'symlink', linkname: 'up/..' },
          { name: `libs/lib00/dist/esc/${victimName}/keep.txt`, type: 'file', body: 'pwned' },
        ],
        [
          { name: 'libs/lib00/dist/', type: 'directory' },
          { name: 'libs/lib00/dist/a', type: 'symlink', linkname: '.' },
          { name: 'libs/lib00/dist/b', type: 'symlink', linkname: `a/../../../../${victimName}` },
          { name: 'libs/lib00/dist/index.js', type: 'file', body: 'pwned' },
        ],
      ];
      const seen: string[] = [];
      for (const entries of variants) {
        craftEntry(dev, 'lib00:build', { entries });
        wipeOutputs(dev);
        const result = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
        expect(result.code, result.output).toBe(0);
        const warnings = strideWarnings(result.stdout);
        expect(warnings, result.stdout).toHaveLength(1);
        expect(warnings[0]).toMatch(/lib00:build: could not restore [0-9a-f]+, running it instead: refused an unsafe artifact: libs\/lib00\/dist\/(esc|b): symlink to \S+ resolves outside the workspace/);
        expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
        expect(readdirSync(join(dev.root, 'libs/lib00/dist')).sort()).toEqual(['index.js', 'meta.json']);
        everyVictimUntouched();
        seen.push(warnings[0]!.replace(/^.*refused/, 'refused').slice(0, 110));
      }
      return `exit 0, lib00 rebuilt, no link restored, victim identical; ${seen.join(' | ')}`;
    },
    120_000,
  );

  attack(
    {
      item: '5.abslink',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: "puts any tar in a store entry's outputs.tar",
      attack: 'an absolute link (restored as data since issue 19, as Nx does) to a folder beside the workspace, then a file under it, in either order',
      stoppedBy: 'an absolute link is recreated as a link and never resolved or written through: any entry below a link the archive makes (or one on disk) is refused',
    },
    async () => {
      const seen: string[] = [];
      for (const order of ['link first', 'file first']) {
        const link: TarEntry = { name: 'libs/lib00/dist/abs', type: 'symlink', linkname: besideWorkspace.dir };
        const file: TarEntry = { name: 'libs/lib00/dist/abs/keep.txt', type: 'file', body: 'pwned' };
        craftEntry(dev, 'lib00:build', { entries: [{ name: 'libs/lib00/dist/', type: 'directory' }, ...(order === 'link first' ? [link, file] : [file, link])] });
        wipeOutputs(dev);
        const result = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
        expect(result.code, result.output).toBe(0);
        const warnings = strideWarnings(result.stdout);
        expect(warnings, result.stdout).toHaveLength(1);
        expect(warnings[0]).toMatch(/lib00:build: could not restore [0-9a-f]+, running it instead: refused an unsafe artifact: libs\/lib00\/dist\/abs\/keep\.txt: path goes through the symlink libs\/lib00\/dist\/abs/);
        expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
        expect(readdirSync(join(dev.root, 'libs/lib00/dist')).sort()).toEqual(['index.js', 'meta.json']);
        besideWorkspace.untouched();
        seen.push(`${order}: ${warnings[0]!.replace(/^.*refused/, 'refused').slice(0, 90)}`);
      }
      // The link alone is what a build may make (Nx issue 34013): it is restored as the link it was, and nothing lands behind it.
      const genuine = readdirSync(join(dev.root, 'libs/lib00/dist')).sort();
      const entries: TarEntry[] = [{ name: 'libs/lib00/dist/', type: 'directory' }];
      for (const name of genuine) entries.push({ name: `libs/lib00/dist/${name}`, type: 'file', body: dev.read(`libs/lib00/dist/${name}`) });
      craftEntry(dev, 'lib00:build', { entries: [...entries, { name: 'libs/lib00/dist/abs', type: 'symlink', linkname: besideWorkspace.dir }] });
      wipeOutputs(dev);
      const restored = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(restored.code, restored.output).toBe(0);
      expect(strideWarnings(restored.stdout), restored.stdout).toEqual([]);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('local');
      expect(lstatSync(join(dev.root, 'libs/lib00/dist/abs')).isSymbolicLink()).toBe(true);
      besideWorkspace.untouched();
      // A genuine entry again for the attacks that follow.
      forget(dev, 'lib00:build');
      wipeOutputs(dev);
      expect((await build(dev, { STRIDE_REMOTE_MODE: 'off' })).code).toBe(0);
      return `exit 0, lib00 rebuilt, victim identical; ${seen.join(' | ')}; the link alone restored as a link (local hit), victim identical`;
    },
    120_000,
  );

  attack(
    {
      item: '5.negated',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: "puts any tar in a store entry's outputs.tar",
      attack: 'lib00 declares {projectRoot}/dist and !{projectRoot}/dist/local.txt (a file the developer keeps there); the archive also holds dist/local.txt, to overwrite it',
      stoppedBy: 'an entry a negated output excludes is refused like one outside the outputs; clearing and archiving never touch an excluded file',
    },
    async () => {
      dev.updateJson<{ targets: { build: Record<string, unknown> } }>('libs/lib00/project.json', (p) => {
        p.targets.build.outputs = ['{projectRoot}/dist', '!{projectRoot}/dist/local.txt'];
        return p;
      });
      expect((await build(dev, { STRIDE_REMOTE_MODE: 'off' })).code).toBe(0);
      dev.write('libs/lib00/dist/local.txt', 'mine\n');
      const genuine = ['index.js', 'meta.json'].map((name): TarEntry => ({ name: `libs/lib00/dist/${name}`, type: 'file', body: dev.read(`libs/lib00/dist/${name}`) }));
      craftEntry(dev, 'lib00:build', { entries: [{ name: 'libs/lib00/dist/', type: 'directory' }, ...genuine, { name: 'libs/lib00/dist/local.txt', type: 'file', body: 'pwned' }] });
      rmSync(join(dev.root, 'libs/lib00/dist/index.js'));
      const result = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(result.code, result.output).toBe(0);
      const warnings = strideWarnings(result.stdout);
      expect(warnings, result.stdout).toHaveLength(1);
      expect(warnings[0]).toMatch(/lib00:build: could not restore [0-9a-f]+, running it instead: refused an unsafe artifact: libs\/lib00\/dist\/local\.txt: excluded by a negated output of the task/);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
      expect(dev.read('libs/lib00/dist/local.txt')).toBe('mine\n');
      // The rebuild stored a genuine entry without local.txt; a restore from it leaves the developer's file as it is.
      dev.write('libs/lib00/dist/local.txt', 'mine, edited\n');
      rmSync(join(dev.root, 'libs/lib00/dist/index.js'));
      const restored = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache, restored.output).toBe('local');
      expect(dev.read('libs/lib00/dist/local.txt')).toBe('mine, edited\n');
      dev.git(['checkout', '-q', '--', 'libs/lib00/project.json']);
      wipeOutputs(dev);
      expect((await build(dev, { STRIDE_REMOTE_MODE: 'off' })).code).toBe(0);
      return `exit 0, lib00 rebuilt, local.txt kept; ${warnings[0]!.replace(/^.*refused/, 'refused').slice(0, 110)}; a genuine restore left local.txt as edited`;
    },
    120_000,
  );

  attack(
    {
      item: '5',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: "puts any tar in a store entry's outputs.tar",
      attack: 'nested outputs (dist and dist/types/**): a restored link dist/types -> up/../<folder beside the workspace>, for the next restore to clear and the next build to write through',
      stoppedBy: 'the chain is refused; clearing never descends through a link and checks the real parent folder before removing',
    },
    async () => {
      const victimName = basename(besideWorkspace.dir);
      craftEntry(dev, 'lib01:build', {
        entries: [
          { name: 'libs/lib01/dist/', type: 'directory' },
          { name: 'libs/lib01/dist/index.js', type: 'file', body: '// built lib01\n' },
          { name: 'libs/lib01/dist/up', type: 'symlink', linkname: '../../..' },
          { name: 'libs/lib01/dist/types', type: 'symlink', linkname: `up/../${victimName}` },
        ],
      });
      wipeOutputs(dev);
      const refused = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(refused.code, refused.output).toBe(0);
      expect(strideWarnings(refused.stdout).join('\n')).toMatch(/lib01:build: could not restore [0-9a-f]+, running it instead: refused an unsafe artifact: libs\/lib01\/dist\/types: symlink to up\/\.\.\/\S+ resolves outside the workspace/);
      expect(lstatSync(join(dev.root, 'libs/lib01/dist/types')).isDirectory()).toBe(true);
      everyVictimUntouched();
      const crafted = entryDir(dev, hashOf(dev, 'lib01:build'));

      // A following build (a source edit: a miss) writes where it should, and nothing lands beside the workspace.
      dev.write('libs/lib01/src/index.js', "export const lib01 = 'edited';\n");
      const next = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(next.code, next.output).toBe(0);
      expect(dev.read('libs/lib01/dist/types/index.d.ts')).toBe('export {};\n');
      everyVictimUntouched();

      // A link to outside already on disk (left by an older Stride), then a genuine restore: it clears the link, never what is behind it.
      dev.git(['checkout', '-q', '--', 'libs/lib01/src/index.js']);
      rmSync(crafted, { recursive: true, force: true });
      const rebuilt = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(rebuilt.code, rebuilt.output).toBe(0);
      rmSync(join(dev.root, 'libs/lib01/dist/types'), { recursive: true, force: true });
      dev.exec('ln', ['-s', besideWorkspace.dir, join(dev.root, 'libs/lib01/dist/types')]);
      const restored = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(restored.code, restored.output).toBe(0);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib01:build')?.cache, restored.output).toBe('local');
      expect(lstatSync(join(dev.root, 'libs/lib01/dist/types')).isDirectory()).toBe(true);
      everyVictimUntouched();
      return 'chain refused (lib01 rebuilt, dist/types a real folder); the next build and a restore over a planted link left the folder beside the workspace identical';
    },
    120_000,
  );

  attack(
    {
      item: '10.setuid',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: "puts any tar in a store entry's outputs.tar",
      attack: 'a file entry with mode 04777 (and a folder with 07777)',
      stoppedBy: 'extraction keeps only the permission bits (mode & 0o777) of every entry',
    },
    async () => {
      craftEntry(dev, 'lib00:build', {
        entries: [
          { name: 'libs/lib00/dist/', type: 'directory', mode: 0o7777 },
          { name: 'libs/lib00/dist/index.js', type: 'file', body: '// built lib00\n', mode: 0o4777 },
        ],
      });
      wipeOutputs(dev);
      const result = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(result.code, result.output).toBe(0);
      expect(strideWarnings(result.stdout)).toEqual([]);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('local');
      const file = statSync(join(dev.root, 'libs/lib00/dist/index.js')).mode;
      const folder = statSync(join(dev.root, 'libs/lib00/dist')).mode;
      // No special bit; the permission bits are the entry's (less the process umask, as for any new file): owner rwx, not the default 644.
      expect((file & 0o7000).toString(8)).toBe('0');
      expect((file & 0o700).toString(8)).toBe('700');
      expect((folder & 0o7000).toString(8)).toBe('0');
      forget(dev, 'lib00:build');
      return `restored as mode ${(file & 0o7777).toString(8)} (folder ${(folder & 0o7777).toString(8)}): no setuid, setgid or sticky bit`;
    },
    120_000,
  );

  attack(
    {
      item: '10',
      attacker: 'writer of the local store, or of an artifact a run restores',
      capability: 'names tar entries with any bytes',
      attack: 'an entry named with a newline, a GitHub `::error` annotation and an ANSI sequence, so the refusal forges a line in the log',
      stoppedBy: 'refusal messages escape entry names with printable()',
    },
    async () => {
      const evil = 'libs/lib00/src/x\n::error title=forged::pwned\u001b[31m';
      await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      craftEntry(dev, 'lib00:build', { entries: [{ name: evil, type: 'file', body: 'x' }] });
      wipeOutputs(dev);
      const result = await build(dev, { STRIDE_REMOTE_MODE: 'off' });
      expect(result.code, result.output).toBe(0);
      expect(result.output.split('\n').filter((line) => line.startsWith('::error'))).toEqual([]);
      expect(result.output).not.toContain('\u001b[31m');
      expect(result.stdout).toContain('libs/lib00/src/x\\n::error title=forged::pwned\\x1b[31m: outside the task');
      expect(existsSync(join(dev.root, 'libs/lib00/src/x'))).toBe(false);
      expect(dev.lastRun().tasks.find((t) => t.id === 'lib00:build')?.cache).toBe('miss');
      everyVictimUntouched();
      return 'refused with one warning naming the entry escaped (\\n, \\x1b); no line of the output starts with ::error';
    },
    120_000,
  );
});
