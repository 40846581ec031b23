import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { assertArchiveSafe, extractArchive, packArchive } from './archive.js';

// Windows itself is not here: these are the archives a Windows machine makes
// or meets, read and written on Linux.

const tmp = (): string => mkdtempSync(join(tmpdir(), 'stride-winpath-'));

/** A tar built entry by entry, with paths exactly as given (as a Windows tool may write them). */
function craft(entries: Array<{ path: string; type?: 'File' | 'Directory' | 'SymbolicLink'; body?: string; linkpath?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const { path, type = 'File', body = '', linkpath } of entries) {
    const header = new tar.Header({ path, type, size: type === 'File' ? Buffer.byteLength(body) : 0, mode: type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), ...(linkpath ? { linkpath } : {}) });
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

const entryPaths = async (file: string): Promise<string[]> => {
  const paths: string[] = [];
  await tar.t({ file, onReadEntry: (entry) => void paths.push(entry.path) });
  return paths;
};

describe('archive paths across Windows and Linux', () => {
  it('packs output paths given Windows-style as /-separated entries, and restores them byte for byte', async () => {
    const a = tmp();
    mkdirSync(join(a, 'libs/a/dist/nested'), { recursive: true });
    writeFileSync(join(a, 'libs/a/dist/index.js'), 'export {};\n');
    writeFileSync(join(a, 'libs/a/dist/nested/data.json'), '{}\n');
    const file = join(tmp(), 'outputs.tar');
    await packArchive(a, ['libs\\a\\dist'], file);
    const paths = await entryPaths(file);
    expect(paths).toEqual(expect.arrayContaining(['libs/a/dist/', 'libs/a/dist/index.js', 'libs/a/dist/nested/data.json']));
    expect(paths.filter((p) => p.includes('\\'))).toEqual([]);

    const b = tmp();
    await assertArchiveSafe(file, ['libs/a/dist'], tmp());
    await extractArchive(file, b);
    expect(readFileSync(join(b, 'libs/a/dist/nested/data.json'), 'utf8')).toBe('{}\n');
    expect(readFileSync(join(b, 'libs/a/dist/index.js'), 'utf8')).toBe('export {};\n');
  });

  it('restores an archive whose entries use \\ where the check said they go, not as files named with backslashes', async () => {
    const archive = craft([{ path: 'libs\\a\\dist\\', type: 'Directory' }, { path: 'libs\\a\\dist\\index.js', body: 'windows\n' }]);
    await assertArchiveSafe(archive, ['libs/a/dist'], tmp());
    const root = tmp();
    await extractArchive(archive, root);
    expect(readFileSync(join(root, 'libs/a/dist/index.js'), 'utf8')).toBe('windows\n');
    expect(readdirSync(root)).toEqual(['libs']);
  });

  it('refuses \\-separated ways out: .. segments, drive letters, and symlinks whose target climbs out', async () => {
    await expect(assertArchiveSafe(craft([{ path: 'libs\\a\\dist\\..\\..\\..\\..\\evil.js', body: 'x' }]), ['libs/a/dist'], tmp())).rejects.toThrow(/leaves the workspace/);
    await expect(assertArchiveSafe(craft([{ path: 'C:\\evil.js', body: 'x' }]), ['libs/a/dist'], tmp())).rejects.toThrow(/absolute path/);
    await expect(assertArchiveSafe(craft([{ path: 'libs/a/dist/up', type: 'SymbolicLink', linkpath: '..\\..\\..\\..\\etc' }]), ['libs/a/dist'], tmp())).rejects.toThrow(/symlink points outside the workspace/);
    await expect(assertArchiveSafe(craft([{ path: 'libs/a/dist/abs', type: 'SymbolicLink', linkpath: 'C:\\Windows' }]), ['libs/a/dist'], tmp())).rejects.toThrow(/symlink to a drive path/);
  });
});

describe('glob outputs cover what they match', () => {
  it('refuses a file under a glob output\'s base that the glob does not match (a source file put back by a restore)', async () => {
    const outputs = ['libs/a/dist', 'libs/a/**/*.d.ts'];
    await expect(assertArchiveSafe(craft([{ path: 'libs/a/src/index.js', body: 'poisoned' }]), outputs, tmp())).rejects.toThrow(/libs\/a\/src\/index\.js: not matched by any of the task's declared outputs/);
    await assertArchiveSafe(craft([{ path: 'libs/a/src/', type: 'Directory' }, { path: 'libs/a/src/index.d.ts', body: 'export {};' }, { path: 'libs/a/dist/x.js', body: '1' }]), outputs, tmp());
  });
});
