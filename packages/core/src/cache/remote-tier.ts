import type { RemoteTier } from '../remote/remote-cache.js';
import type { EntryMeta } from '../store/local-store.js';
import type { LocalTier } from './local-tier.js';
import type { CacheHit, CacheTier } from './task-cache.js';

/** What a remote tier keeps besides lookups and uploads: its end-of-run flush and its one warning. */
export interface RemoteExtras {
  flush?: () => Promise<void>;
  warnings?: () => readonly string[];
}

/**
 * The remote in front of a local tier (Stride's own store): a verified hit is
 * imported into the local tier's store by the remote (which is opened on that
 * store) and restored from there like a local hit, so the next run finds it
 * locally; what the local tier stored is uploaded in the background.
 */
export class LandingRemoteTier implements CacheTier {
  readonly source = 'remote' as const;

  constructor(
    private readonly remote: RemoteTier,
    private readonly landing: LocalTier,
    private readonly extras: RemoteExtras = {},
  ) {}

  get readable(): boolean {
    return this.remote.readable !== false;
  }

  async lookup(hash: string, taskId: string): Promise<CacheHit | undefined> {
    const meta = await this.remote.fetch(hash, taskId);
    return meta ? this.landing.hitFor(meta, taskId, 'remote') : undefined;
  }

  async put(_result: unknown, nearer: EntryMeta | undefined): Promise<EntryMeta | undefined> {
    if (nearer) this.remote.scheduleUpload(nearer);
    return nearer;
  }

  async flush(): Promise<void> {
    await this.extras.flush?.();
  }

  get warnings(): readonly string[] {
    return this.extras.warnings?.() ?? [];
  }
}
