import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { assertArchiveSafe, extractArchive } from './archive.js';
import { LocalStore } from './local-store.js';

/**
 * Issue 19, item 8 (Nx issue 34013's case): an absolute symlink in a task's outputs is cached and restored as a
 * link, its target text as it was, as Nx does. It is data: nothing is ever written, cleared or resolved through
 * it, and an entry below it is refused.
 */
function sandbox(): { root: string; victim: string } {
  const base = mkdtempSync(join(tmpdir(), 'stride-abslink-'));
  const root = join(base, 'ws');
  const victim = join(base, 'victim');
  mkdirSync(root);
  mkdirSync(victim);
  writeFileSync(join(victim, 'keep.txt'), 'victim\n');
  return { root, victim };
}

const victimUntouched = (victim: string): void => {
  expect(readdirSync(victim)).toEqual(['keep.txt']);
  expect(readFileSync(join(victim, 'keep.txt'), 'utf8')).toBe('victim\n');
};

function craft(entries: Array<{ path: string; type?: 'File' | 'Directory' | 'SymbolicLink'; body?: string; linkpath?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const { path, type = 'File', body = '', linkpath } of entries) {
    const header = new tar.Header({ path, type, size: type === 'File' ? Buffer.byteLength(body) : 0, mode: 0o755, mtime: new Date(0), ...(linkpath ? { linkpath } : {}) });
    header.encode();
    blocks.push(header.block as Buffer);
    if (type === 'File' && body) {
      const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
      data.write(body);
      blocks.push(data);
    }
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

describe('absolute symlinks in outputs', () => {
  it('are stored and restored as links with their target text, and a restore over them never touches what they point at', async () => {
    const { root, victim } = sandbox();
    const store = new LocalStore(join(root, '.stride', 'cache'), root);
    mkdirSync(join(root, 'libs/a/dist'), { recursive: true });
    writeFileSync(join(root, 'libs/a/dist/index.js'), 'built\n');
    symlinkSync(victim, join(root, 'libs/a/dist/folder'));
    symlinkSync(join(victim, 'keep.txt'), join(root, 'libs/a/dist/file'));
    symlinkSync(join(root, 'libs/a/dist/index.js'), join(root, 'libs/a/dist/inside'));
    const meta = await store.save({ hash: 'ab01', taskId: 'a:build', durationMs: 1, outputs: ['libs/a/dist'], terminalOutput: '' });

    // Twice: once onto nothing, once over the links the first restore made (cleared as links, never followed).
    for (const before of ['gone', 'in place']) {
      if (before === 'gone') rmSync(join(root, 'libs/a/dist'), { recursive: true });
      else writeFileSync(join(root, 'libs/a/dist/index.js'), 'changed\n');
      await store.restore(meta, ['libs/a/dist']);
      expect(readlinkSync(join(root, 'libs/a/dist/folder'))).toBe(victim);
      expect(readlinkSync(join(root, 'libs/a/dist/file'))).toBe(join(victim, 'keep.txt'));
      expect(readlinkSync(join(root, 'libs/a/dist/inside'))).toBe(join(root, 'libs/a/dist/index.js'));
      expect(readFileSync(join(root, 'libs/a/dist/index.js'), 'utf8')).toBe('built\n');
      victimUntouched(victim);
    }
  });

  it('refuses an archive with an absolute link and then a file under it, and writes nothing', async () => {
    const { root, victim } = sandbox();
    const archive = craft([
      { path: 'libs/a/dist/', type: 'Directory' },
      { path: 'libs/a/dist/abs', type: 'SymbolicLink', linkpath: victim },
      { path: 'libs/a/dist/abs/keep.txt', body: 'pwned' },
    ]);
    await expect(assertArchiveSafe(archive, ['libs/a/dist'], root)).rejects.toThrow(/libs\/a\/dist\/abs\/keep\.txt: path goes through the symlink libs\/a\/dist\/abs/);
    // The same when the file comes first and the link replaces its folder afterwards: every link the archive makes counts.
    const reordered = craft([
      { path: 'libs/a/dist/abs/keep.txt', body: 'pwned' },
      { path: 'libs/a/dist/abs', type: 'SymbolicLink', linkpath: victim },
    ]);
    await expect(assertArchiveSafe(reordered, ['libs/a/dist'], root)).rejects.toThrow(/path goes through the symlink libs\/a\/dist\/abs/);
    victimUntouched(victim);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses a relative link that resolves through an absolute one, and an absolute link already on disk on the way', async () => {
    const { root, victim } = sandbox();
    const chained = craft([
      { path: 'libs/a/dist/abs', type: 'SymbolicLink', linkpath: victim },
      { path: 'libs/a/dist/rel', type: 'SymbolicLink', linkpath: 'abs/keep.txt' },
    ]);
    await expect(assertArchiveSafe(chained, ['libs/a/dist'], root)).rejects.toThrow(/libs\/a\/dist\/rel: symlink to abs\/keep\.txt resolves to an absolute path/);
    mkdirSync(join(root, 'libs/a'), { recursive: true });
    symlinkSync(victim, join(root, 'libs/a/dist'));
    const below = craft([{ path: 'libs/a/dist/sub/x.js', body: 'pwned' }]);
    await expect(assertArchiveSafe(below, ['libs/a/dist/sub'], root)).rejects.toThrow(/path goes through the symlink libs\/a\/dist on disk/);
    victimUntouched(victim);
  });

  it('refuses an absolute link whose own entry path leaves the workspace or the outputs', async () => {
    const { root, victim } = sandbox();
    await expect(assertArchiveSafe(craft([{ path: '../escaped', type: 'SymbolicLink', linkpath: victim }]), ['libs/a/dist'], root)).rejects.toThrow(/leaves the workspace/);
    await expect(assertArchiveSafe(craft([{ path: `${root}/libs/a/dist/x`, type: 'SymbolicLink', linkpath: victim }]), ['libs/a/dist'], root)).rejects.toThrow(/absolute path/);
    await expect(assertArchiveSafe(craft([{ path: 'libs/a/src/x', type: 'SymbolicLink', linkpath: victim }]), ['libs/a/dist'], root)).rejects.toThrow(/outside the task's declared outputs/);
  });

  it('unpacks a checked absolute link as a link, not as a copy of its target', async () => {
    const { root, victim } = sandbox();
    const archive = craft([{ path: 'libs/a/dist/abs', type: 'SymbolicLink', linkpath: victim }]);
    await assertArchiveSafe(archive, ['libs/a/dist'], root);
    await extractArchive(archive, root);
    expect(lstatSync(join(root, 'libs/a/dist/abs')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'libs/a/dist/abs'))).toBe(victim);
    victimUntouched(victim);
  });
});
