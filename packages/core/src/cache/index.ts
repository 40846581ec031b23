export { type CacheHit, type CacheTier, type HitSource, type Reach, type ResultToStore, type TaskCache, timeSavedBy } from './task-cache.js';
export { LocalTier } from './local-tier.js';
export { LandingRemoteTier, type RemoteExtras } from './remote-tier.js';
export { TieredCache } from './tiered-cache.js';
export { storeCache } from './store-cache.js';
export { DirectRemoteTier, type ArtifactRemote } from './direct-remote-tier.js';
export { restoreArtifact } from './artifact-restore.js';
export { UncachedTasks } from './uncached-tasks.js';
