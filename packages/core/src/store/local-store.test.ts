import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { assertArchiveSafe } from './archive.js';
import { LocalStore } from './local-store.js';
import { OutputsOnDisk } from './outputs-on-disk.js';

function workspace(): { root: string; store: LocalStore } {
  const root = mkdtempSync(join(tmpdir(), 'stride-store-'));
  return { root, store: new LocalStore(join(root, '.stride', 'cache'), root) };
}

function writeOutputs(root: string): void {
  mkdirSync(join(root, 'libs/a/dist/sub'), { recursive: true });
  writeFileSync(join(root, 'libs/a/dist/index.js'), 'console.log(1)\n');
  writeFileSync(join(root, 'libs/a/dist/sub/run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'libs/a/dist/sub/run.sh'), 0o751);
  symlinkSync('index.js', join(root, 'libs/a/dist/link.js'));
}

describe('LocalStore', () => {
  it('restores outputs exactly (bytes, modes, symlinks) after removing stale ones, and replays output', async () => {
    const { root, store } = workspace();
    writeOutputs(root);
    await store.save({ hash: 'aa11', taskId: 'a:build', durationMs: 5, outputs: ['libs/a/dist'], terminalOutput: 'built a\n' });

    writeFileSync(join(root, 'libs/a/dist/stale.js'), 'old');
    writeFileSync(join(root, 'libs/a/dist/index.js'), 'changed');
    const meta = await store.lookup('aa11');
    expect(meta?.taskId).toBe('a:build');
    const hit = await store.restore(meta!, ['libs/a/dist']);

    expect(hit.terminalOutput).toBe('built a\n');
    expect(readFileSync(join(root, 'libs/a/dist/index.js'), 'utf8')).toBe('console.log(1)\n');
    expect(existsSync(join(root, 'libs/a/dist/stale.js'))).toBe(false);
    expect(statSync(join(root, 'libs/a/dist/sub/run.sh')).mode & 0o777).toBe(0o751);
    expect(lstatSync(join(root, 'libs/a/dist/link.js')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'libs/a/dist/link.js'))).toBe('index.js');
  });

  it('stores hard-linked outputs as plain files, so they restore (a hard-link entry would be refused), every time', async () => {
    // tar's asynchronous packer used to throw an uncaught error on some hard links (1 pack in 16 here): pack many.
    for (let i = 0; i < 40; i++) {
      const { root, store } = workspace();
      mkdirSync(join(root, 'libs/a/dist'), { recursive: true });
      writeFileSync(join(root, 'libs/a/dist/a.js'), `a ${i}\n`);
      linkSync(join(root, 'libs/a/dist/a.js'), join(root, 'libs/a/dist/b.js'));
      const meta = await store.save({ hash: `ee${i}`, taskId: 'a:build', durationMs: 1, outputs: ['libs/a/dist'], terminalOutput: '' });
      if (i > 0) continue;
      const types: string[] = [];
      tar.t({ file: join(store.entryDir(meta.hash), 'outputs.tar'), sync: true, onReadEntry: (entry) => types.push(`${entry.path} ${entry.type}`) });
      expect(types.sort()).toEqual(['libs/a/dist/ Directory', 'libs/a/dist/a.js File', 'libs/a/dist/b.js File']);
      rmSync(join(root, 'libs/a/dist'), { recursive: true });
      await store.restore(meta, ['libs/a/dist']);
      expect(readFileSync(join(root, 'libs/a/dist/b.js'), 'utf8')).toBe('a 0\n');
      expect(statSync(join(root, 'libs/a/dist/b.js')).nlink).toBe(1);
    }
  });

  it('leaves outputs that are still exactly as last restored, and restores them again once anything changed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-store-'));
    const onDisk = new OutputsOnDisk(root, join(root, '.stride', 'outputs.json'));
    const store = new LocalStore(join(root, '.stride', 'cache'), root, onDisk);
    const file = join(root, 'libs/a/dist/index.js');
    mkdirSync(join(root, 'libs/a/dist'), { recursive: true });
    writeFileSync(file, 'built\n');
    // Older than the two-second window in which a file is too fresh to trust.
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const meta = await store.save({ hash: 'cc33', taskId: 'a:build', durationMs: 5, outputs: ['libs/a/dist'], terminalOutput: 'built a\n' });

    await store.restore(meta, ['libs/a/dist']);
    // From here the archive is garbage: a restore that reads it fails, one that leaves the outputs does not.
    const archive = join(store.entryDir('cc33'), 'outputs.tar');
    const archiveBytes = readFileSync(archive);
    writeFileSync(archive, 'garbage');
    const again = await store.restore(meta, ['libs/a/dist']);
    expect(again.terminalOutput).toBe('built a\n');
    expect(readFileSync(file, 'utf8')).toBe('built\n');

    // The record survives the run, and a new one trusts it.
    await onDisk.save();
    const next = new OutputsOnDisk(root, join(root, '.stride', 'outputs.json'));
    expect(await next.load()).toBeUndefined();
    const nextStore = new LocalStore(join(root, '.stride', 'cache'), root, next);
    await nextStore.restore(meta, ['libs/a/dist']);
    writeFileSync(archive, archiveBytes);

    // Same size, mtime set back: the ctime still tells, and the stored bytes come back.
    const before = statSync(file);
    writeFileSync(file, 'BUILT\n');
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
    await nextStore.restore(meta, ['libs/a/dist']);
    expect(readFileSync(file, 'utf8')).toBe('built\n');

    // A file added beside the outputs, then a restore under another hash: both restore for real.
    writeFileSync(join(root, 'libs/a/dist/extra.js'), 'x');
    await nextStore.restore(meta, ['libs/a/dist']);
    expect(existsSync(join(root, 'libs/a/dist/extra.js'))).toBe(false);
    expect(await next.match('a:build', 'other-hash', ['libs/a/dist'])).toBe(false);

    // A corrupt record is ignored with a warning: every hit is simply extracted.
    writeFileSync(join(root, '.stride', 'outputs.json'), '{not json');
    expect(await new OutputsOnDisk(root, join(root, '.stride', 'outputs.json')).load()).toMatch(/ignored an unreadable record of restored outputs/);
  });

  it('misses on an unknown hash and stores a task without outputs', async () => {
    const { store } = workspace();
    expect(await store.lookup('ffff')).toBeUndefined();
    const meta = await store.save({ hash: 'bb22', taskId: 'b:lint', durationMs: 1, outputs: ['libs/b/dist'], terminalOutput: 'ok' });
    expect(meta.archiveSha256).toBeNull();
    expect((await store.restore(meta, ['libs/b/dist'])).terminalOutput).toBe('ok');
  });

  it('refuses and evicts an entry whose archive was altered', async () => {
    const { root, store } = workspace();
    writeOutputs(root);
    const meta = await store.save({ hash: 'cc33', taskId: 'a:build', durationMs: 1, outputs: ['libs/a/dist'], terminalOutput: '' });
    const archive = join(store.entryDir('cc33'), 'outputs.tar');
    const bytes = readFileSync(archive);
    bytes[600] = (bytes[600] as number) ^ 0xff;
    writeFileSync(archive, bytes);
    writeFileSync(join(root, 'libs/a/dist/index.js'), 'mine');
    await expect(store.restore(meta, ['libs/a/dist'])).rejects.toThrow(/corrupt/);
    expect(readFileSync(join(root, 'libs/a/dist/index.js'), 'utf8')).toBe('mine');
    expect(await store.lookup('cc33')).toBeUndefined();
  });

  it('keeps one whole entry when two writers store the same hash at once, and leaves no temp files', async () => {
    const { root, store } = workspace();
    writeOutputs(root);
    const request = { hash: 'dd44', taskId: 'a:build', durationMs: 1, outputs: ['libs/a/dist'], terminalOutput: 'x' };
    await Promise.all([store.save(request), store.save(request), new LocalStore(store.dir, root).save(request)]);
    expect(await store.lookup('dd44')).toBeDefined();
    expect(readdirSync(join(store.dir, '.tmp'))).toEqual([]);
  });
});

// Checked from the file, and from the bytes a restore reads once and then unpacks.
describe.each([
  ['from the file', (file: string): string | Buffer => file],
  ['from bytes in memory', (file: string): string | Buffer => readFileSync(file)],
])('assertArchiveSafe, %s', (_how, source) => {
  // The workspace the archive would be unpacked into: nothing on disk to resolve links through.
  const emptyRoot = mkdtempSync(join(tmpdir(), 'stride-root-'));
  async function archiveOf(setup: (dir: string) => string[], options: { preservePaths?: boolean } = {}): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'stride-evil-'));
    const cwd = join(dir, 'ws', 'inner');
    mkdirSync(cwd, { recursive: true });
    const paths = setup(cwd);
    const file = join(dir, 'evil.tar');
    // Synchronous: tar's async packer can write after its end when it meets a hard link (an unhandled error, seen here).
    tar.c({ cwd, file, sync: true, preservePaths: options.preservePaths ?? false }, paths);
    return file;
  }

  it('accepts plain outputs', async () => {
    const file = await archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'));
      writeFileSync(join(cwd, 'dist/a.js'), 'a');
      return ['dist'];
    });
    await expect(assertArchiveSafe(source(file), ['dist'], emptyRoot)).resolves.toBeUndefined();
  });

  it('refuses entries outside the declared outputs', async () => {
    const file = await archiveOf((cwd) => {
      mkdirSync(join(cwd, 'src'));
      writeFileSync(join(cwd, 'src/index.ts'), 'evil');
      return ['src/index.ts'];
    });
    await expect(assertArchiveSafe(source(file), ['dist'], emptyRoot)).rejects.toThrow(/outside the task's declared outputs/);
  });

  it('refuses ../ paths and absolute paths', async () => {
    const dotdot = await archiveOf((cwd) => {
      writeFileSync(join(cwd, '..', 'escape.txt'), 'evil');
      return ['../escape.txt'];
    }, { preservePaths: true });
    await expect(assertArchiveSafe(source(dotdot), ['**'], emptyRoot)).rejects.toThrow(/leaves the workspace/);
    const absolute = await archiveOf((cwd) => {
      writeFileSync(join(cwd, 'abs.txt'), 'evil');
      return [join(cwd, 'abs.txt')];
    }, { preservePaths: true });
    await expect(assertArchiveSafe(source(absolute), ['**'], emptyRoot)).rejects.toThrow(/absolute path/);
  });

  it('refuses symlinks pointing outside the workspace and hard links', async () => {
    const link = await archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'));
      symlinkSync('../../../etc', join(cwd, 'dist/etc'));
      return ['dist'];
    });
    await expect(assertArchiveSafe(source(link), ['dist'], emptyRoot)).rejects.toThrow(/symlink points outside/);
    const hard = await archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'));
      writeFileSync(join(cwd, 'dist/a'), 'a');
      linkSync(join(cwd, 'dist/a'), join(cwd, 'dist/b'));
      return ['dist'];
    });
    await expect(assertArchiveSafe(source(hard), ['dist'], emptyRoot)).rejects.toThrow(/entry type Link/);
  });
});
