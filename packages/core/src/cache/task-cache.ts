import type { EntryMeta, SaveRequest } from '../store/local-store.js';

/** Where a hit was found: a remote hit stays `remote` after it lands in the local tier. */
export type HitSource = 'local' | 'remote';

/**
 * Which tiers a lookup asks: `near` costs no network (the local tier), `far`
 * only the remote ones (their hit lands in the local tier when there is one),
 * `all` nearest first.
 */
export type Reach = 'near' | 'far' | 'all';

/** A result some tier holds for a hash, ready to restore. */
export interface CacheHit {
  readonly hash: string;
  readonly taskId: string;
  readonly source: HitSource;
  /** How long the task took when it ran: what restoring it saves. */
  readonly durationMs: number;
  /** Replaces the task's outputs with the cached ones; returns the terminal output to replay. Throws when the hit cannot be used. */
  restore(outputs: readonly string[]): Promise<string>;
  /** Frees what the hit holds (a downloaded artifact in a temp file); called once it is restored or given up. */
  release(): Promise<void>;
}

/** A result that just ran, to store: the same request every tier gets. */
export type ResultToStore = SaveRequest;

/**
 * The one cache the runner talks to (lookup, restore, put, flush, warnings),
 * whatever tiers are behind it: a local store, a remote, both, or none.
 */
export interface TaskCache {
  lookup(hash: string, taskId: string, reach?: Reach): Promise<CacheHit | undefined>;
  restore(hit: CacheHit, outputs: readonly string[]): Promise<string>;
  /** Stores a successful result in every tier that keeps results (a remote one uploads in the background). */
  put(result: ResultToStore): Promise<void>;
  /** Waits for background work (uploads), bounded by each tier's own limit. */
  flush(): Promise<void>;
  /** At most one line per tier for the whole run. */
  readonly warnings: string[];
  /** Whether any tier costs a network round trip (worth prefetching, worth waiting for another machine). */
  readonly hasFar: boolean;
  /** False once no far tier can answer (mode, circuit breaker): waiting for another machine's upload is pointless. */
  readonly farReadable: boolean;
}

/** One tier behind the cache. */
export interface CacheTier {
  readonly source: HitSource;
  lookup(hash: string, taskId: string): Promise<CacheHit | undefined>;
  /**
   * Stores a result. `nearer` is the record a nearer tier stored it under (a
   * remote tier then uploads that entry); the tier returns the record it keeps,
   * for the tiers after it.
   */
  put(result: ResultToStore, nearer: EntryMeta | undefined): Promise<EntryMeta | undefined>;
  flush?(): Promise<void>;
  readonly warnings: readonly string[];
  readonly readable: boolean;
}

/**
 * What restoring an entry saves: the run time it records, except for an entry
 * whose declared outputs held nothing when it was stored. Restoring that brings
 * nothing back (an output pointing where the task never writes, so its
 * dependants fail after a "successful" restore), and must not be reported as
 * time saved; the run that stored it warned about the outputs.
 */
export function timeSavedBy(meta: { durationMs: number; outputs: readonly string[]; archivedPaths: readonly string[] }): number {
  return meta.outputs.length > 0 && meta.archivedPaths.length === 0 ? 0 : meta.durationMs;
}
