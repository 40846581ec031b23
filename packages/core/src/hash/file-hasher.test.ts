import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FileHasher } from './file-hasher.js';

describe('FileHasher', () => {
  it('a warm run trusts an unchanged file without reading it, and sees a same-size edit whose mtime was put back', async () => {
    // Only Date is faked: it moves the run past the racy window of the file's real ctime.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
      const cache = join(root, '.stride', 'file-hashes.json');
      const old = new Date(Date.now() - 60_000);
      writeFileSync(join(root, 'a.txt'), 'one');
      utimesSync(join(root, 'a.txt'), old, old);
      vi.setSystemTime(Date.now() + 10_000);

      const cold = new FileHasher(root, cache);
      await cold.load();
      const first = await cold.hash('a.txt');
      await cold.save(new Set(['a.txt']));

      // The cache is used: a forged cached hash comes back for the untouched file.
      const forged = 'f'.repeat(16);
      const persisted = JSON.parse(readFileSync(cache, 'utf8')) as { files: Record<string, unknown[]> };
      (persisted.files['a.txt'] as unknown[])[5] = forged;
      writeFileSync(cache, JSON.stringify(persisted));
      const warm = new FileHasher(root, cache);
      await warm.load();
      expect(await warm.hash('a.txt')).toBe(forged);

      // Same size, mtime put back (touch -r): only ctime moved, and that is enough.
      writeFileSync(join(root, 'a.txt'), 'two');
      utimesSync(join(root, 'a.txt'), old, old);
      vi.setSystemTime(Date.now() + 10_000);
      const edited = new FileHasher(root, cache);
      await edited.load();
      const second = await edited.hash('a.txt');
      expect(second).not.toBe(forged);
      expect(second).not.toBe(first);

      // A new mtime invalidates the entry too.
      await edited.save(new Set(['a.txt']));
      const later = new Date(Date.now() - 30_000);
      utimesSync(join(root, 'a.txt'), later, later);
      const third = new FileHasher(root, cache);
      await third.load();
      expect(await third.hash('a.txt')).toBe(second);
      expect(JSON.parse(readFileSync(cache, 'utf8')).format).toBe(2);
    } finally {
      vi.useRealTimers();
    }
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

describe('FileHasher.derive', () => {
  it('computes from the bytes once, and a warm run reuses the value until the content changes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
    const cache = join(root, 'cache.json');
    const old = new Date(Date.now() - 60_000);
    writeFileSync(join(root, 'p.json'), '{"a":1}');
    utimesSync(join(root, 'p.json'), old, old);
    let reads = 0;
    const compute = (bytes: Buffer): string => {
      reads += 1;
      return `len${bytes.length}`;
    };
    // ctime is "now" right after the write: wait out the racy window by faking only Date.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 10_000);
      const cold = new FileHasher(root, cache);
      await cold.load();
      expect(await cold.derive('p.json', 'k', compute)).toBe('len7');
      expect(await cold.derive('p.json', 'k', compute)).toBe('len7');
      expect(reads).toBe(1);
      await cold.save(new Set(['p.json']));
      const warm = new FileHasher(root, cache);
      await warm.load();
      expect(await warm.derive('p.json', 'k', compute)).toBe('len7');
      expect(reads).toBe(1);
      expect(await warm.derive('p.json', 'other', compute)).toBe('len7');
      expect(reads).toBe(2);
      writeFileSync(join(root, 'p.json'), '{"a":22}');
      vi.setSystemTime(Date.now() + 10_000);
      const edited = new FileHasher(root, cache);
      await edited.load();
      expect(await edited.derive('p.json', 'k', compute)).toBe('len8');
      expect(reads).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the hashes of files this run read outside the workspace listing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-hasher-'));
    const cache = join(root, 'cache.json');
    writeFileSync(join(root, 'ignored.txt'), 'x');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'ignored.txt'), old, old);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 10_000);
      const hasher = new FileHasher(root, cache);
      await hasher.hash('ignored.txt');
      await hasher.save(new Set());
      expect(Object.keys((JSON.parse(readFileSync(cache, 'utf8')) as { files: object }).files)).toEqual(['ignored.txt']);
    } finally {
      vi.useRealTimers();
    }
  });
});
