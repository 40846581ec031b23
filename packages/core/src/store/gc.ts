import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalStore } from './local-store.js';

export interface GcLimits {
  /** Keep the store at or under this many bytes, dropping least recently used entries first. */
  maxBytes?: number;
  /** Drop entries not used for longer than this. */
  maxAgeMs?: number;
}

export interface GcReport {
  kept: number;
  removed: number;
  bytesBefore: number;
  bytesAfter: number;
}

interface EntryInfo {
  hash: string;
  bytes: number;
  lastUsedMs: number;
}

/** Temp folders older than this belong to a process that died mid-write. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Evicts entries by age and total size; a restore marks an entry as used. */
export async function collectGarbage(store: LocalStore, limits: GcLimits, now = Date.now()): Promise<GcReport> {
  const entries = await listEntries(store.dir);
  const bytesBefore = entries.reduce((sum, e) => sum + e.bytes, 0);
  entries.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
  const kept: EntryInfo[] = [];
  const doomed: EntryInfo[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const tooOld = limits.maxAgeMs !== undefined && now - entry.lastUsedMs > limits.maxAgeMs;
    const tooBig = limits.maxBytes !== undefined && bytes + entry.bytes > limits.maxBytes;
    if (tooOld || tooBig) doomed.push(entry);
    else {
      kept.push(entry);
      bytes += entry.bytes;
    }
  }
  for (const entry of doomed) await store.evict(entry.hash);
  await removeStaleTemps(join(store.dir, '.tmp'), now);
  return { kept: kept.length, removed: doomed.length, bytesBefore, bytesAfter: bytes };
}

/**
 * The store's entries, as `<shard>/<hash>/` folders. A name that is not an
 * entry's, or a link where a folder should be, is skipped: whoever can write
 * the store (a job sharing it) must not get gc to evict, that is move and
 * delete, a folder behind a link.
 */
async function listEntries(dir: string): Promise<EntryInfo[]> {
  const out: EntryInfo[] = [];
  for (const shard of await readdir(dir).catch(() => [] as string[])) {
    if (shard.length !== 2 || !(await isRealDir(join(dir, shard)))) continue;
    for (const hash of await readdir(join(dir, shard)).catch(() => [] as string[])) {
      const entryDir = join(dir, shard, hash);
      if (!hash.startsWith(shard) || !/^[0-9A-Za-z_-]+$/.test(hash) || !(await isRealDir(entryDir))) continue;
      const meta = await lstat(join(entryDir, 'meta.json')).catch(() => undefined);
      if (!meta?.isFile()) continue;
      let bytes = 0;
      for (const file of await readdir(entryDir)) bytes += (await lstat(join(entryDir, file))).size;
      out.push({ hash, bytes, lastUsedMs: meta.mtimeMs });
    }
  }
  return out;
}

async function removeStaleTemps(tempDir: string, now: number): Promise<void> {
  // A link in place of .tmp would have gc delete what it points to.
  if (!(await isRealDir(tempDir))) return;
  for (const name of await readdir(tempDir).catch(() => [] as string[])) {
    const info = await lstat(join(tempDir, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(join(tempDir, name), { recursive: true, force: true });
  }
}

async function isRealDir(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}
