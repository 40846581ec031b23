import type { CacheHit, Reach, ResultToStore, TaskCache } from './task-cache.js';

/**
 * The run's cache with some tasks left out: for a task whose target says
 * `cache: false`, no tier is asked and nothing is stored, as Nx does for its
 * own cache. Every other task goes through untouched.
 */
export class UncachedTasks implements TaskCache {
  constructor(
    private readonly inner: TaskCache,
    private readonly isCached: (taskId: string) => boolean,
  ) {}

  lookup(hash: string, taskId: string, reach?: Reach): Promise<CacheHit | undefined> {
    return this.isCached(taskId) ? this.inner.lookup(hash, taskId, reach) : Promise.resolve(undefined);
  }

  restore(hit: CacheHit, outputs: readonly string[]): Promise<string> {
    return this.inner.restore(hit, outputs);
  }

  put(result: ResultToStore): Promise<void> {
    return this.isCached(result.taskId) ? this.inner.put(result) : Promise.resolve();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  get warnings(): string[] {
    return this.inner.warnings;
  }

  get hasFar(): boolean {
    return this.inner.hasFar;
  }

  get farReadable(): boolean {
    return this.inner.farReadable;
  }
}
