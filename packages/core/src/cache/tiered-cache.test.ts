import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore, type EntryMeta } from '../store/local-store.js';
import type { RemoteTier } from '../remote/remote-cache.js';
import { storeCache } from './store-cache.js';
import type { CacheHit, CacheTier } from './task-cache.js';
import { TieredCache } from './tiered-cache.js';

/** A tier that records what it was asked, holding the hashes in `has`. */
function fakeTier(source: 'local' | 'remote', has: string[], log: string[]): CacheTier {
  return {
    source,
    readable: true,
    warnings: [`${source} says hello`],
    lookup: async (hash, taskId) => {
      log.push(`${source}:lookup:${hash}`);
      if (!has.includes(hash)) return undefined;
      const hit: CacheHit = { hash, taskId, source, durationMs: 3, restore: async () => `from ${source}\n`, release: async () => void log.push(`${source}:release:${hash}`) };
      return hit;
    },
    put: async (result, nearer) => {
      log.push(`${source}:put:${result.hash}:${nearer?.hash ?? 'none'}`);
      return { hash: `${source}-${result.hash}` } as EntryMeta;
    },
  };
}

describe('TieredCache', () => {
  it('asks tiers nearest first, near or far only when told, and stops at the first hit', async () => {
    const log: string[] = [];
    const cache = new TieredCache([fakeTier('local', ['a'], log), fakeTier('remote', ['a', 'b'], log)]);
    expect((await cache.lookup('a', 't'))?.source).toBe('local');
    expect((await cache.lookup('b', 't'))?.source).toBe('remote');
    expect(await cache.lookup('b', 't', 'near')).toBeUndefined();
    expect((await cache.lookup('a', 't', 'far'))?.source).toBe('remote');
    expect(log).toEqual(['local:lookup:a', 'local:lookup:b', 'remote:lookup:b', 'local:lookup:b', 'remote:lookup:a']);
    expect(cache.hasFar).toBe(true);
    expect(cache.warnings).toEqual(['local says hello', 'remote says hello']);
  });
  it('puts into every tier, each given what the one before stored, and releases a hit once restored', async () => {
    const log: string[] = [];
    const cache = new TieredCache([fakeTier('local', [], log), fakeTier('remote', ['x'], log)]);
    await cache.put({ hash: 'h', taskId: 't', durationMs: 1, outputs: [], terminalOutput: '' });
    const hit = (await cache.lookup('x', 't')) as CacheHit;
    expect(await cache.restore(hit, [])).toBe('from remote\n');
    expect(log.slice(0, 2)).toEqual(['local:put:h:none', 'remote:put:h:local-h']);
    expect(log).toContain('remote:release:x');
  });
  it('names the tier that refused a result', async () => {
    const failing: CacheTier = { ...fakeTier('local', [], []), put: async () => { throw new Error('ENOSPC: no space left'); } };
    await expect(new TieredCache([failing]).put({ hash: 'h', taskId: 't', durationMs: 1, outputs: [], terminalOutput: '' })).rejects.toThrow(/^in the local store: ENOSPC/);
  });
  it('with no tiers, misses everything and stores nothing', async () => {
    const cache = new TieredCache([]);
    expect(await cache.lookup('a', 't')).toBeUndefined();
    expect(cache.hasFar).toBe(false);
    expect(cache.farReadable).toBe(false);
    await cache.put({ hash: 'h', taskId: 't', durationMs: 1, outputs: [], terminalOutput: '' });
  });
});

describe('storeCache (Stride\'s own store in front)', () => {
  it('restores a remote hit from the entry it landed in the store, reported as remote, and uploads what the store saved', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-tiers-'));
    const store = new LocalStore(join(root, '.stride/cache'), root);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/out.txt'), 'built');
    const landed = await store.save({ hash: 'r1', taskId: 'a:build', durationMs: 9, outputs: ['dist'], terminalOutput: 'ran a\n' });
    await store.evict('r1');
    const uploaded: string[] = [];
    const remote: RemoteTier = {
      fetch: async (hash) => (hash === 'r1' ? await store.importEntry(landed, undefined, Buffer.from('ran a\n')) : undefined),
      scheduleUpload: (meta) => void uploaded.push(meta.hash),
    };
    const cache = storeCache(store, remote);
    expect(await cache.lookup('r1', 'a:build', 'near')).toBeUndefined();
    const hit = (await cache.lookup('r1', 'a:build')) as CacheHit;
    expect([hit.source, hit.durationMs]).toEqual(['remote', 9]);
    expect(await store.lookup('r1')).toBeDefined();
    await cache.put({ hash: 'h2', taskId: 'b:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    expect(uploaded).toEqual(['h2']);
    expect(readFileSync(join(root, 'dist/out.txt'), 'utf8')).toBe('built');
  });
});
