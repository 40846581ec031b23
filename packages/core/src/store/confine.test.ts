import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from './gc.js';
import { assertArchiveSafe, extractArchive } from './archive.js';
import { removeInside, resolveLinkTarget, workspaceRelative } from './confine.js';
import { LocalStore } from './local-store.js';
import { clearOutputs, existingOutputPaths, filesUnder } from './output-paths.js';

/** A folder holding a workspace (`ws`) and, beside it, a victim folder that nothing may touch. */
function sandbox(): { root: string; victim: string; victimFiles: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'stride-confine-'));
  const root = join(dir, 'ws');
  const victim = join(dir, 'victim');
  mkdirSync(root);
  mkdirSync(join(victim, 'deep'), { recursive: true });
  writeFileSync(join(victim, 'keep.txt'), 'keep');
  writeFileSync(join(victim, 'deep', 'keep.d.ts'), 'keep');
  const victimFiles = (): string[] => readdirSync(victim, { recursive: true }).map(String).sort();
  return { root, victim, victimFiles };
}

/** An archive of what `setup` makes under a scratch folder (links archived as links). */
function archiveOf(setup: (cwd: string) => string[]): Buffer {
  const cwd = mkdtempSync(join(tmpdir(), 'stride-src-'));
  const paths = setup(cwd);
  const file = join(cwd, '..', `${cwd.split('/').pop()}.tar`);
  tar.c({ cwd, file, sync: true, portable: true }, paths);
  return readFileSync(file);
}

describe('workspaceRelative', () => {
  it('normalizes paths inside the workspace and refuses the rest', () => {
    expect(workspaceRelative('libs/a/dist/')).toBe('libs/a/dist');
    expect(workspaceRelative('./dist')).toBe('dist');
    expect(workspaceRelative('.')).toBe('');
    for (const bad of ['../victim', '../..', '/etc', 'C:/x', 'a/../../b', 'a\0b', '..\\x']) expect(workspaceRelative(bad)).toBeUndefined();
  });
});

describe('resolveLinkTarget', () => {
  const view = (links: Record<string, string>) => (path: string) => links[path];
  it('follows links component by component, as the kernel does', () => {
    // up -> ../../.. is the workspace root seen from apps/a/dist; esc -> up/.. is then its parent.
    const links = view({ 'apps/a/dist/up': '../../..' });
    expect(resolveLinkTarget(['apps', 'a', 'dist'], '../../..', links).inside).toBe(true);
    expect(resolveLinkTarget(['apps', 'a', 'dist'], 'up/..', links)).toEqual({ inside: false, why: 'resolves outside the workspace' });
    expect(resolveLinkTarget(['dist'], 'a/../..', view({ 'dist/a': '.' })).inside).toBe(false);
    expect(resolveLinkTarget(['dist'], 'l1', view({ 'dist/l1': 'l2', 'dist/l2': 'l1' }))).toMatchObject({ inside: false, why: expect.stringMatching(/more than 40 links/) });
    expect(resolveLinkTarget(['dist'], 'x/y', view({ 'dist/x': '/etc' }))).toMatchObject({ inside: false, why: 'resolves to an absolute path' });
    expect(resolveLinkTarget(['dist'], 'sub/../index.js', view({})).inside).toBe(true);
  });
});

describe('assertArchiveSafe: links judged by where they resolve', () => {
  it('refuses a chain of links that each look inside (up -> ../../.., then esc -> up/..), and deeper variants', async () => {
    const { root } = sandbox();
    const chain = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'apps/a/dist'), { recursive: true });
      symlinkSync('../../..', join(cwd, 'apps/a/dist/up'));
      symlinkSync('up/..', join(cwd, 'apps/a/dist/esc'));
      return ['apps/a/dist'];
    });
    await expect(assertArchiveSafe(chain, ['apps/a/dist'], root)).rejects.toThrow(/apps\/a\/dist\/esc: symlink to up\/\.\. resolves outside the workspace/);
    const deeper = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'), { recursive: true });
      symlinkSync('.', join(cwd, 'dist/a'));
      symlinkSync('a', join(cwd, 'dist/b'));
      symlinkSync('b/b/a/../..', join(cwd, 'dist/esc'));
      return ['dist'];
    });
    await expect(assertArchiveSafe(deeper, ['dist'], root)).rejects.toThrow(/dist\/esc: symlink to b\/b\/a\/\.\.\/\.\. resolves outside/);
    const loop = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'), { recursive: true });
      symlinkSync('l2', join(cwd, 'dist/l1'));
      symlinkSync('l1', join(cwd, 'dist/l2'));
      return ['dist'];
    });
    await expect(assertArchiveSafe(loop, ['dist'], root)).rejects.toThrow(/more than 40 links/);
  });

  it('follows links already on disk, and refuses entries written through one', async () => {
    const { root, victim } = sandbox();
    symlinkSync(victim, join(root, 'shared'));
    mkdirSync(join(root, 'dist'));
    symlinkSync(victim, join(root, 'dist', 'types'));
    const viaDisk = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'));
      symlinkSync('../shared/keep.txt', join(cwd, 'dist/x'));
      return ['dist'];
    });
    await expect(assertArchiveSafe(viaDisk, ['dist'], root)).rejects.toThrow(/dist\/x: symlink to \.\.\/shared\/keep\.txt resolves to an absolute path/);
    const through = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist/types'), { recursive: true });
      writeFileSync(join(cwd, 'dist/types/keep.txt'), 'evil');
      return ['dist/types/keep.txt'];
    });
    // dist/**/*.txt clears the .txt files only: the link stays, and the entry would be written through it.
    await expect(assertArchiveSafe(through, ['dist/**/*.txt'], root)).rejects.toThrow(/dist\/types\/keep\.txt: path goes through the symlink dist\/types on disk/);
  });

  it('does not hold against an archive a link on disk that the restore clears first, and the restore removes the link, not its target', async () => {
    const { root, victim, victimFiles } = sandbox();
    const before = victimFiles();
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    mkdirSync(join(root, 'dist/types'), { recursive: true });
    writeFileSync(join(root, 'dist/index.js'), '1');
    writeFileSync(join(root, 'dist/types/index.d.ts'), 'export {};');
    const outputs = ['dist', 'dist/types/**'];
    const meta = await store.save({ hash: 'cd34', taskId: 'a:build', durationMs: 1, outputs, terminalOutput: '' });
    rmSync(join(root, 'dist/types'), { recursive: true });
    symlinkSync(victim, join(root, 'dist/types'));
    await store.restore(meta, outputs);
    expect(lstatSync(join(root, 'dist/types')).isDirectory()).toBe(true);
    expect(readFileSync(join(root, 'dist/types/index.d.ts'), 'utf8')).toBe('export {};');
    expect(victimFiles()).toEqual(before);
  });

  it('accepts honest links inside the outputs', async () => {
    const { root } = sandbox();
    const honest = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'apps/a/dist/sub'), { recursive: true });
      writeFileSync(join(cwd, 'apps/a/dist/index.js'), '1');
      symlinkSync('index.js', join(cwd, 'apps/a/dist/link.js'));
      symlinkSync('../index.js', join(cwd, 'apps/a/dist/sub/up.js'));
      symlinkSync('../../../README.md', join(cwd, 'apps/a/dist/readme'));
      return ['apps/a/dist'];
    });
    await expect(assertArchiveSafe(honest, ['apps/a/dist'], root)).resolves.toBeUndefined();
  });

  it('escapes entry names in its refusal: a newline, an ::error annotation or an ANSI sequence never reaches a log raw', async () => {
    const { root } = sandbox();
    const evil = 'x\n::error title=pwned::forged\u001b[2J';
    const archive = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'src'));
      writeFileSync(join(cwd, 'src', evil), 'x');
      return [`src/${evil}`];
    });
    const error = await assertArchiveSafe(archive, ['dist'], root).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain('src/x\\n::error title=pwned::forged\\x1b[2J: outside the task');
    expect(error?.message.split('\n')[0]).toContain('::error');
    expect(error?.message).not.toContain('\u001b');
  });
});

describe('extractArchive', () => {
  it('drops setuid, setgid and sticky bits, keeping the permission bits', async () => {
    const { root } = sandbox();
    const archive = archiveOf((cwd) => {
      mkdirSync(join(cwd, 'dist'));
      writeFileSync(join(cwd, 'dist/run'), '#!/bin/sh\n');
      chmodSync(join(cwd, 'dist/run'), 0o4755);
      chmodSync(join(cwd, 'dist'), 0o1777);
      return ['dist'];
    });
    const modes: number[] = [];
    new tar.Parser({ onReadEntry: (e) => (modes.push(e.mode ?? 0), e.resume()) }).end(archive);
    expect(modes.some((m) => (m & 0o4000) !== 0)).toBe(true);
    await extractArchive(archive, root);
    expect(statSync(join(root, 'dist/run')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(root, 'dist')).mode & 0o7000).toBe(0);
  });
});

describe('clearing and listing outputs never goes through a link', () => {
  it('with nested outputs (dist and dist/types/**) and a link under dist/types to outside, deletes nothing outside', async () => {
    const { root, victim, victimFiles } = sandbox();
    const before = victimFiles();
    mkdirSync(join(root, 'dist/types'), { recursive: true });
    writeFileSync(join(root, 'dist/index.js'), '1');
    symlinkSync(victim, join(root, 'dist/types/t'));
    symlinkSync(victim, join(root, 'dist/esc'));
    expect(await filesUnder(root, await existingOutputPaths(root, ['dist', 'dist/types/**']))).toEqual(['dist/esc', 'dist/index.js', 'dist/types/t']);
    await clearOutputs(root, ['dist/types/**', 'dist']);
    expect(existsSync(join(root, 'dist'))).toBe(false);
    expect(victimFiles()).toEqual(before);
  });

  it('a glob whose base is a link yields the link itself, and an output below a link yields nothing', async () => {
    const { root, victim, victimFiles } = sandbox();
    const before = victimFiles();
    mkdirSync(join(root, 'dist'));
    symlinkSync(victim, join(root, 'dist/types'));
    expect(await existingOutputPaths(root, ['dist/types/**'])).toEqual(['dist/types']);
    expect(await existingOutputPaths(root, ['dist/types/deep', 'dist/types/keep.txt'])).toEqual([]);
    await clearOutputs(root, ['dist/types/deep', 'dist/types/keep.txt']);
    expect(victimFiles()).toEqual(before);
    await clearOutputs(root, ['dist/types/**']);
    expect(lstatSync(join(root, 'dist')).isDirectory()).toBe(true);
    expect(existsSync(join(root, 'dist/types'))).toBe(false);
    expect(victimFiles()).toEqual(before);
  });

  it('refuses outputs outside the workspace, naming the output and the fix', async () => {
    const { root, victimFiles } = sandbox();
    const before = victimFiles();
    await expect(clearOutputs(root, ['../victim'])).rejects.toThrow(/the output \.\.\/victim does not lie inside the workspace[\s\S]*fix: /);
    await expect(clearOutputs(root, ['../..'])).rejects.toThrow(/does not lie inside the workspace/);
    await expect(clearOutputs(root, ['/etc'])).rejects.toThrow(/does not lie inside the workspace/);
    await expect(clearOutputs(root, ['dist/**/../../../victim/*'])).rejects.toThrow(/does not lie inside the workspace/);
    await expect(removeInside(root, '../victim')).rejects.toThrow(/not a path inside the workspace/);
    expect(victimFiles()).toEqual(before);
  });
});

describe('restore and gc through a crafted store', () => {
  it('a restore of an entry whose archive holds the chain writes and deletes nothing outside', async () => {
    const { root, victim, victimFiles } = sandbox();
    const before = victimFiles();
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    mkdirSync(join(root, 'apps/a/dist'), { recursive: true });
    symlinkSync('../../..', join(root, 'apps/a/dist/up'));
    symlinkSync('up/../victim', join(root, 'apps/a/dist/esc'));
    const meta = await store.save({ hash: 'ab12', taskId: 'a:build', durationMs: 1, outputs: ['apps/a/dist'], terminalOutput: '' });
    await expect(store.restore(meta, ['apps/a/dist'])).rejects.toThrow(/esc: symlink to up\/\.\.\/victim resolves outside the workspace/);
    expect(victimFiles()).toEqual(before);
    expect(readFileSync(join(victim, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('gc never evicts a folder behind a link in the store', async () => {
    const { root, victim, victimFiles } = sandbox();
    const before = victimFiles();
    const dir = join(root, '.stride', 'cache');
    mkdirSync(dir, { recursive: true });
    // A shard that is a link to the victim, holding an "entry" (the victim's deep/ folder has no meta.json, so give it one).
    writeFileSync(join(victim, 'deep', 'meta.json'), '{}');
    mkdirSync(join(victim, 'de'), { recursive: true });
    symlinkSync(victim, join(dir, 'de'));
    symlinkSync(victim, join(dir, '.tmp'));
    const report = await collectGarbage(new LocalStore(dir, root), { maxBytes: 0, maxAgeMs: 0 }, Date.now() + 10 * 365 * 86_400_000);
    expect(report.removed).toBe(0);
    expect(victimFiles()).toEqual([...before, 'de', 'deep/meta.json'].sort());
  });
});
