import { errorMessage, StrideError } from '../util/errors.js';
import type { EntryMeta } from '../store/local-store.js';
import type { CacheHit, CacheTier, Reach, ResultToStore, TaskCache } from './task-cache.js';

/**
 * The cache multiplexer (Turborepo's shape): tiers in order, local first.
 * A lookup asks them nearest first and stops at the first hit; a put goes to
 * every tier, each given what the one before it stored (a remote uploads the
 * local entry, or packs its own when there is no local tier). Hits restore
 * through the tier that made them.
 */
export class TieredCache implements TaskCache {
  constructor(private readonly tiers: readonly CacheTier[]) {}

  get hasFar(): boolean {
    return this.tiers.some((tier) => tier.source === 'remote');
  }

  get farReadable(): boolean {
    return this.tiers.some((tier) => tier.source === 'remote' && tier.readable);
  }

  async lookup(hash: string, taskId: string, reach: Reach = 'all'): Promise<CacheHit | undefined> {
    for (const tier of this.tiers) {
      if (reach === 'near' && tier.source !== 'local') continue;
      if (reach === 'far' && tier.source === 'local') continue;
      const hit = await tier.lookup(hash, taskId);
      if (hit) return hit;
    }
    return undefined;
  }

  async restore(hit: CacheHit, outputs: readonly string[]): Promise<string> {
    try {
      return await hit.restore(outputs);
    } finally {
      await hit.release();
    }
  }

  async put(result: ResultToStore): Promise<void> {
    let stored: EntryMeta | undefined;
    for (const tier of this.tiers) {
      try {
        stored = await tier.put(result, stored);
      } catch (error) {
        // The run goes on (the task succeeded); the message says which tier refused it.
        throw new StrideError(`in the ${tier.source} ${tier.source === 'local' ? 'store' : 'cache'}: ${errorMessage(error)}`, {}, { cause: error });
      }
    }
  }

  async flush(): Promise<void> {
    for (const tier of this.tiers) await tier.flush?.();
  }

  get warnings(): string[] {
    return this.tiers.flatMap((tier) => tier.warnings);
  }
}
