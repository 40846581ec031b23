import type { RemoteTier } from '../remote/remote-cache.js';
import type { LocalStore } from '../store/local-store.js';
import { LocalTier } from './local-tier.js';
import { LandingRemoteTier, type RemoteExtras } from './remote-tier.js';
import { TieredCache } from './tiered-cache.js';

/**
 * Stride's own local store in front (`localCache: "stride"`), and the remote
 * behind it when one is configured. `remote` must be opened on `store`: its
 * hits are imported there.
 */
export function storeCache(store: LocalStore, remote?: RemoteTier, options: { storeWarnings?: () => readonly string[]; remote?: RemoteExtras } = {}): TieredCache {
  const local = new LocalTier(store, options.storeWarnings);
  return new TieredCache(remote ? [local, new LandingRemoteTier(remote, local, options.remote)] : [local]);
}
