import type { EntryMeta, LocalStore } from '../store/local-store.js';
import { type CacheHit, type CacheTier, type HitSource, type ResultToStore, timeSavedBy } from './task-cache.js';

/**
 * Stride's local content-addressed store as a cache tier. It also restores
 * what a remote tier lands in the same store (`hitFor(meta, 'remote')`).
 */
export class LocalTier implements CacheTier {
  readonly source = 'local' as const;
  readonly readable = true;

  constructor(
    readonly store: LocalStore,
    /** The store's warnings; by default `store.warnings` (a caller's store may have more to say). */
    private readonly storeWarnings: () => readonly string[] = () => store.warnings,
  ) {}

  async lookup(hash: string, taskId: string): Promise<CacheHit | undefined> {
    const meta = await this.store.lookup(hash);
    return meta ? this.hitFor(meta, taskId, 'local') : undefined;
  }

  /** A hit on an entry of this store, found here or landed here by a remote tier. */
  hitFor(meta: EntryMeta, taskId: string, source: HitSource): CacheHit {
    return {
      hash: meta.hash,
      taskId,
      source,
      durationMs: timeSavedBy(meta),
      restore: async (outputs) => (await this.store.restore(meta, outputs)).terminalOutput,
      release: async () => undefined,
    };
  }

  put(result: ResultToStore): Promise<EntryMeta> {
    return this.store.save(result);
  }

  get warnings(): readonly string[] {
    return this.storeWarnings();
  }
}
