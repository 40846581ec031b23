import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { collectGarbage, DirectRemoteTier, LocalStore, OutputsOnDisk, type RemoteCache, storeCache, type TaskCache, TieredCache } from '@stride/core';
import type { StrideSettings } from '../settings.js';
import { guardRemote, openCacheDirectory, RunStore } from './cache-directory.js';
import { openRemote, type RunTrust, storeTrust } from './open-remote.js';

/** The run's one cache, and what the run still needs of its parts. */
export interface RunCache {
  cache: TaskCache;
  /** The remote, for what is not a cache operation: the timing history, the stats, pending uploads. */
  remote: RemoteCache | undefined;
  /** Said once, at the end of the run. */
  warnings: string[];
  /** End-of-run bookkeeping (the record of restored outputs); a failure is a warning. */
  save(): Promise<string | undefined>;
  /**
   * Keeps the local store within its size and age limits, as Nx trims its own
   * cache after a run; called only after a run that stored something (a fully
   * cached run lists nothing). A failure is a warning.
   */
  trim(): Promise<string | undefined>;
}

/**
 * Builds the cache for `localCache`: "stride" puts Stride's own store in
 * front of the remote; "nx" has Nx's local cache in front (outside the batch),
 * so the batch keeps no local copy and asks only the remote.
 */
export function openRunCache(settings: StrideSettings, root: string, trust: RunTrust): Promise<RunCache> {
  return settings.localCache === 'nx' ? openBehindNx(settings, root, trust) : openStrideStore(settings, root, trust);
}

async function openStrideStore(settings: StrideSettings, root: string, trust: RunTrust): Promise<RunCache> {
  const outputsOnDisk = new OutputsOnDisk(root, join(settings.strideDir, 'outputs.json'));
  const outputsWarning = await outputsOnDisk.load();
  // A path that can never be a folder stops the run here; a read-only or full one only degrades it.
  const cacheDirectory = await openCacheDirectory(settings.cacheDirectory, settings.cacheDirectorySetting);
  const store = new RunStore(settings.cacheDirectory, root, outputsOnDisk, settings.cacheDirectorySetting, cacheDirectory.writable ? undefined : { ...cacheDirectory, remoteSkipped: settings.remote !== undefined }, storeTrust(trust));
  // A run killed mid-write leaves a temp entry behind; the next run clears it.
  await store.removeAbandonedTemps().catch(() => 0);
  // Remote hits land in the local store: with a directory that takes no writes, the remote has nothing to give.
  const remote = cacheDirectory.writable ? await openRemote(settings, store, trust) : undefined;
  // Stride's own store in front, the remote behind it (its hits land in the store; a hit that cannot is a miss).
  const cache = storeCache(store, remote ? guardRemote(remote, store) : undefined, {
    storeWarnings: () => [...store.warnings, ...(store.warning ? [store.warning] : [])],
    ...(remote ? { remote: { flush: () => remote.flush(), warnings: () => remote.warnings } } : {}),
  });
  return {
    cache,
    remote,
    warnings: outputsWarning ? [outputsWarning] : [],
    save: () => outputsOnDisk.save().then(() => undefined, (error: unknown) => `could not save the record of restored outputs: ${String(error)}`),
    trim: () =>
      collectGarbage(store, { maxBytes: settings.maxCacheBytes, maxAgeMs: settings.maxCacheAgeMs }).then(
        () => undefined,
        (error: unknown) => `could not keep the local store ${settings.cacheDirectory} within ${settings.maxCacheSizeSetting}: ${String(error)}`,
      ),
  };
}

/**
 * Nx's local cache in front: Nx restores its own hits before the batch is
 * forked and stores every result the batch yields, so Stride keeps nothing in
 * `.stride/cache`. With a bucket, remote hits are restored straight from the
 * artifact; results are packed into `.stride/transit` only to be uploaded, and
 * removed once they are. No bucket: the batch only runs what Nx missed.
 */
async function openBehindNx(settings: StrideSettings, root: string, trust: RunTrust): Promise<RunCache> {
  // Nx's local cache is Nx's to trim (its maxCacheSize); Stride keeps nothing to trim.
  const none = { save: async () => undefined, trim: async () => undefined };
  if (!settings.remote) return { cache: new TieredCache([]), remote: undefined, warnings: [], ...none };
  const transit = join(settings.strideDir, 'transit');
  const folder = await openCacheDirectory(transit, 'the transit folder .stride/transit (localCache "nx")');
  if (!folder.writable) {
    return {
      cache: new TieredCache([]),
      remote: undefined,
      warnings: [`the transit folder ${transit} ${folder.problem} (${folder.cause}): remote artifacts are checked and packed there, so this run did not use the remote cache; fix: make ${settings.strideDir} writable`],
      ...none,
    };
  }
  const staging = new LocalStore(transit, root, undefined, storeTrust(trust));
  await staging.removeAbandonedTemps().catch(() => 0);
  await removeStaleStaged(staging).catch(() => 0);
  const remote = (await openRemote(settings, staging, trust)) as RemoteCache;
  return { cache: new TieredCache([new DirectRemoteTier(remote, root, staging)]), remote, warnings: [], ...none };
}

/** A staged entry older than this belongs to a run that was killed before its upload finished. */
const STALE_STAGED_MS = 24 * 60 * 60 * 1000;

/**
 * Removes what killed runs left in the transit folder: entries staged for an
 * upload that never finished (a live run's entry is minutes old at most).
 * Through `evict`, which never follows a link.
 */
async function removeStaleStaged(staging: LocalStore, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const shard of await readdir(staging.dir)) {
    if (shard === '.tmp' || !/^[0-9a-f]{2}$/.test(shard)) continue;
    const shardDir = join(staging.dir, shard);
    if (!(await lstat(shardDir)).isDirectory()) continue;
    for (const hash of await readdir(shardDir)) {
      const info = await lstat(join(shardDir, hash)).catch(() => undefined);
      if (!info || now - info.mtimeMs < STALE_STAGED_MS) continue;
      await staging.evict(hash);
      removed++;
    }
  }
  return removed;
}
