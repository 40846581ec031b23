import type { FetchedArtifact } from '../remote/remote-cache.js';
import type { EntryMeta, LocalStore } from '../store/local-store.js';
import { restoreArtifact } from './artifact-restore.js';
import { type CacheHit, type CacheTier, type ResultToStore, timeSavedBy } from './task-cache.js';

/** What the direct tier needs of the remote (RemoteCache). */
export interface ArtifactRemote {
  fetchArtifact(hash: string, taskId: string): Promise<FetchedArtifact | undefined>;
  scheduleUpload(meta: EntryMeta, done?: () => Promise<void>): void;
  readonly willUpload: boolean;
  readonly readable: boolean;
  flush(): Promise<void>;
  readonly warnings: string[];
}

/**
 * The remote with no local store in front of it (`localCache: "nx"`: Nx's
 * own cache is the local tier, outside the batch). A hit is restored straight
 * from the downloaded artifact; a result is packed from its outputs on disk
 * into a staging entry (`staging`, a store folder that holds an entry only
 * until its upload is over), uploaded in the background, then removed. When
 * this run uploads nothing (the default scope, read-only), nothing is packed.
 */
export class DirectRemoteTier implements CacheTier {
  readonly source = 'remote' as const;
  /** Hits not yet restored (prefetched, then skipped): released at the flush. */
  private readonly held = new Set<FetchedArtifact>();
  private readonly staged = new Set<string>();

  constructor(
    private readonly remote: ArtifactRemote,
    private readonly root: string,
    private readonly staging: LocalStore,
  ) {}

  get readable(): boolean {
    return this.remote.readable;
  }

  async lookup(hash: string, taskId: string): Promise<CacheHit | undefined> {
    const artifact = await this.remote.fetchArtifact(hash, taskId);
    if (!artifact) return undefined;
    this.held.add(artifact);
    return {
      hash,
      taskId,
      source: 'remote',
      durationMs: timeSavedBy(artifact.header),
      restore: (outputs) => restoreArtifact(this.root, artifact, outputs),
      release: async () => {
        if (this.held.delete(artifact)) await artifact.release();
      },
    };
  }

  async put(result: ResultToStore): Promise<EntryMeta | undefined> {
    if (!this.remote.willUpload) return undefined;
    // Packed now, before the task is reported done, so no dependant can touch the outputs first.
    const meta = await this.staging.save(result);
    this.staged.add(meta.hash);
    this.remote.scheduleUpload(meta, async () => {
      this.staged.delete(meta.hash);
      await this.staging.evict(meta.hash);
    });
    return meta;
  }

  async flush(): Promise<void> {
    await this.remote.flush();
    for (const artifact of this.held) await artifact.release().catch(() => undefined);
    this.held.clear();
    // Uploads the flush gave up on: nothing keeps their entries.
    for (const hash of this.staged) await this.staging.evict(hash).catch(() => undefined);
    this.staged.clear();
  }

  get warnings(): readonly string[] {
    return [...this.staging.warnings, ...this.remote.warnings];
  }
}
