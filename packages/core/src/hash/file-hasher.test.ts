import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileHasher } from './file-hasher.js';

describe('FileHasher', () => {
  it('hashes content, and a warm run trusts only unchanged size, mtime and inode', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
    const cache = join(root, '.stride', 'file-hashes.json');
    const old = new Date(Date.now() - 60_000);
    writeFileSync(join(root, 'a.txt'), 'one');
    utimesSync(join(root, 'a.txt'), old, old);

    const cold = new FileHasher(root, cache);
    await cold.load();
    const first = await cold.hash('a.txt');
    await cold.save(new Set(['a.txt']));

    // Same size and mtime, different bytes: a warm run trusts the cache (this is
    // what the cache is for), which proves it did not re-read the file.
    writeFileSync(join(root, 'a.txt'), 'two');
    utimesSync(join(root, 'a.txt'), old, old);
    const warm = new FileHasher(root, cache);
    await warm.load();
    expect(await warm.hash('a.txt')).toBe(first);

    // A new mtime invalidates the entry.
    const later = new Date(Date.now() - 30_000);
    utimesSync(join(root, 'a.txt'), later, later);
    const third = new FileHasher(root, cache);
    await third.load();
    expect(await third.hash('a.txt')).not.toBe(first);
  });

  it('re-hashes a file modified within the last two seconds even when the cache matches', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
    const cache = join(root, 'cache.json');
    writeFileSync(join(root, 'b.txt'), 'aaa');
    const first = new FileHasher(root, cache);
    await first.load();
    const h1 = await first.hash('b.txt');
    await first.save(new Set(['b.txt']));
    writeFileSync(join(root, 'b.txt'), 'bbb');
    const second = new FileHasher(root, cache);
    await second.load();
    expect(await second.hash('b.txt')).not.toBe(h1);
  });

  it('reports and ignores a corrupt cache file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
    writeFileSync(join(root, 'cache.json'), '{not json');
    writeFileSync(join(root, 'c.txt'), 'c');
    const hasher = new FileHasher(root, join(root, 'cache.json'));
    expect(await hasher.load()).toMatch(/unreadable file-hash cache/);
    expect(await hasher.hash('c.txt')).toMatch(/^[0-9a-f]{16}$/);
  });
});
