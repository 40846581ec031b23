import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { extractArchive, SMALL_FILE_BYTES } from './archive.js';

/**
 * A large archive (over SMALL_FILE_BYTES) is unpacked by unpack.ts, not node-tar's unpacker: the same bytes,
 * modes, times and links must come out, and the same guards hold.
 */
function sandbox(): { base: string; source: string; root: string; victim: string } {
  const base = mkdtempSync(join(tmpdir(), 'stride-unpack-'));
  const source = join(base, 'source');
  const root = join(base, 'ws');
  const victim = join(base, 'victim');
  for (const dir of [source, root, victim]) mkdirSync(dir);
  writeFileSync(join(victim, 'keep.txt'), 'victim\n');
  return { base, source, root, victim };
}

function largeArchive(source: string, victim: string, file: string): void {
  mkdirSync(join(source, 'dist/sub/deep'), { recursive: true });
  writeFileSync(join(source, 'dist/big.bin'), Buffer.alloc(SMALL_FILE_BYTES + 300_000, 7));
  for (let i = 0; i < 200; i++) writeFileSync(join(source, `dist/sub/f${i}.js`), `export const v = ${i};\n`);
  writeFileSync(join(source, 'dist/sub/deep/run.sh'), '#!/bin/sh\n');
  chmodSync(join(source, 'dist/sub/deep/run.sh'), 0o751);
  chmodSync(join(source, 'dist/sub/deep'), 0o750);
  symlinkSync('f1.js', join(source, 'dist/sub/rel.js'));
  symlinkSync(victim, join(source, 'dist/abs'));
  utimesSync(join(source, 'dist/sub/f7.js'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  tar.c({ cwd: source, file, sync: true, portable: false }, ['dist']);
}

describe('unpacking a large archive', () => {
  it('puts back every byte, mode, time and link as recorded, over what was there', async () => {
    const { base, source, root, victim } = sandbox();
    const file = join(base, 'outputs.tar');
    largeArchive(source, victim, file);
    expect(statSync(file).size).toBeGreaterThan(SMALL_FILE_BYTES);
    // A stale file and a stale link where entries go: replaced, the link never followed.
    mkdirSync(join(root, 'dist/sub'), { recursive: true });
    writeFileSync(join(root, 'dist/sub/f3.js'), 'stale');
    symlinkSync(join(victim, 'keep.txt'), join(root, 'dist/sub/f4.js'));

    await extractArchive(file, root);
    expect(readFileSync(join(root, 'dist/big.bin')).equals(readFileSync(join(source, 'dist/big.bin')))).toBe(true);
    for (const i of [0, 3, 4, 199]) expect(readFileSync(join(root, `dist/sub/f${i}.js`), 'utf8')).toBe(`export const v = ${i};\n`);
    expect(readdirSync(join(root, 'dist/sub')).length).toBe(202);
    expect(statSync(join(root, 'dist/sub/deep/run.sh')).mode & 0o7777).toBe(0o751);
    expect(statSync(join(root, 'dist/sub/deep')).mode & 0o7777).toBe(0o750);
    expect(statSync(join(root, 'dist/sub/f7.js')).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(readlinkSync(join(root, 'dist/sub/rel.js'))).toBe('f1.js');
    expect(readlinkSync(join(root, 'dist/abs'))).toBe(victim);
    expect(lstatSync(join(root, 'dist/sub/f4.js')).isSymbolicLink()).toBe(false);
    expect(readdirSync(victim)).toEqual(['keep.txt']);
    expect(readFileSync(join(victim, 'keep.txt'), 'utf8')).toBe('victim\n');
  });

  it('drops setuid, setgid and sticky bits', async () => {
    const { base, source, root } = sandbox();
    mkdirSync(join(source, 'dist'));
    writeFileSync(join(source, 'dist/pad.bin'), Buffer.alloc(SMALL_FILE_BYTES + 1));
    writeFileSync(join(source, 'dist/suid'), 'x');
    chmodSync(join(source, 'dist/suid'), 0o4755);
    chmodSync(join(source, 'dist'), 0o1777);
    const file = join(base, 'outputs.tar');
    tar.c({ cwd: source, file, sync: true }, ['dist']);
    await extractArchive(file, root);
    expect(statSync(join(root, 'dist/suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(root, 'dist')).mode & 0o7777).toBe(0o777);
  });

  it('refuses to write under a folder that is a link on disk, and writes nothing behind it', async () => {
    const { base, source, root, victim } = sandbox();
    mkdirSync(join(source, 'dist/sub'), { recursive: true });
    writeFileSync(join(source, 'dist/sub/pad.bin'), Buffer.alloc(SMALL_FILE_BYTES + 1));
    writeFileSync(join(source, 'dist/sub/keep.txt'), 'pwned');
    const file = join(base, 'outputs.tar');
    tar.c({ cwd: source, file, sync: true }, ['dist/sub/keep.txt', 'dist/sub/pad.bin']);
    mkdirSync(join(root, 'dist'));
    symlinkSync(victim, join(root, 'dist/sub'));
    await expect(extractArchive(file, root)).rejects.toThrow(/could not unpack the artifact: refused to write under dist\/sub: dist\/sub on the way is a link/);
    expect(readdirSync(victim)).toEqual(['keep.txt']);
    expect(readFileSync(join(victim, 'keep.txt'), 'utf8')).toBe('victim\n');
  });
});
