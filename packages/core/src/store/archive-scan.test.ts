import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { scanArchive } from './archive.js';
import { assertArchiveComplete, TarEndWalk } from './tar-end.js';

/** A real tar of a few entries, some of them larger than a block. */
function archive(): Buffer {
  const root = mkdtempSync(join(tmpdir(), 'stride-scan-'));
  mkdirSync(join(root, 'dist/sub'), { recursive: true });
  writeFileSync(join(root, 'dist/a.js'), 'a'.repeat(700));
  writeFileSync(join(root, 'dist/b.js'), 'b');
  writeFileSync(join(root, 'dist/sub/c.bin'), Buffer.alloc(5000, 7));
  const file = join(root, 'out.tar');
  tar.c({ cwd: root, file, sync: true }, ['dist']);
  return readFileSync(file);
}

/** Where the end blocks start: after the last non-zero byte, rounded up to a block. */
function endOfEntries(bytes: Buffer): number {
  let last = bytes.length - 1;
  while (last >= 0 && bytes[last] === 0) last--;
  return Math.ceil((last + 1) / 512) * 512;
}

/** What the one-pass walk says, the archive fed in chunks of `size` bytes. */
function walkInChunks(bytes: Buffer, size: number): string | undefined {
  const walk = new TarEndWalk(bytes.length);
  for (let at = 0; at < bytes.length; at += size) walk.push(bytes.subarray(at, at + size));
  return walk.problem();
}

async function whole(bytes: Buffer): Promise<string | undefined> {
  try {
    await assertArchiveComplete(bytes);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^incomplete archive: /, '').split('\n')[0];
  }
}

describe('TarEndWalk: the header walk over chunks says what the walk over the whole bytes says', () => {
  const bytes = archive();
  const damaged = Buffer.from(bytes);
  damaged[512 + 10] = (damaged[512 + 10] as number) ^ 0xff;
  const cases: Record<string, Buffer> = {
    whole: bytes,
    'cut at an entry boundary': bytes.subarray(0, 512 + 1536),
    'cut inside an entry': bytes.subarray(0, 1500),
    'cut inside a header': bytes.subarray(0, 512 + 1536 + 100),
    'one end block only': bytes.subarray(0, endOfEntries(bytes) + 512),
    'data after the end blocks': Buffer.concat([bytes, Buffer.from('x')]),
    'a damaged header': damaged,
  };
  it.each(Object.keys(cases))('%s', async (name) => {
    const sample = cases[name] as Buffer;
    const expected = await whole(sample);
    if (name === 'whole') expect(expected).toBeUndefined();
    else expect(expected).toBeDefined();
    for (const size of [1, 100, 511, 512, 513, 1024, 1500, 4096, sample.length]) expect(walkInChunks(sample, size), `chunks of ${size}`).toBe(expected);
  });
});

describe('scanArchive', () => {
  it('gives the sha256, the completeness and the entries of a file in one read, as of the same bytes in memory', async () => {
    const bytes = archive();
    const file = join(mkdtempSync(join(tmpdir(), 'stride-scan-')), 'outputs.tar');
    writeFileSync(file, bytes);
    const fromFile = await scanArchive(file);
    expect(fromFile).toEqual(await scanArchive(bytes));
    expect(fromFile.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(fromFile.incomplete).toBeUndefined();
    expect(fromFile.entries.map((e) => `${e.type} ${e.path}`)).toEqual(['Directory dist', 'File dist/a.js', 'File dist/b.js', 'Directory dist/sub', 'File dist/sub/c.bin']);
    writeFileSync(file, bytes.subarray(0, 1500));
    expect((await scanArchive(file)).incomplete).toMatch(/ends inside an entry/);
  });
});
