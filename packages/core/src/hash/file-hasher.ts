import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { createLimit } from '../util/limit.js';
import { toHex64, xxhashApi } from './xxhash.js';

/** Files at least this large are hashed as a stream instead of read whole. */
const STREAM_THRESHOLD = 1024 * 1024;
/**
 * A file changed this recently may change again within the file system's
 * timestamp granularity without its size, mtime or ctime moving, so its cached
 * hash is not trusted (nor is a fingerprint of restored outputs, see
 * OutputsOnDisk, which shares this constant). "Changed" is the later of mtime
 * and ctime: `touch -r` puts an old mtime back, never an old ctime.
 */
export const RACY_WINDOW_MS = 2000;
/** 2: ctime and the device joined the key; format-1 caches are ignored (one cold run). */
const CACHE_FORMAT = 2;

/**
 * What a cached hash is keyed by. ctime is there because, unlike mtime, no tool
 * can set it back: a same-size edit followed by `touch -r` (or a checkout tool
 * that restores mtimes) keeps size, mtime and inode, and only ctime moves.
 */
type CachedHash = [size: number, mtimeMs: number, ctimeMs: number, inode: number, dev: number, hash: string];

/** A value computed from a file's content (a JSON file's selected fields), valid while its content hash holds. */
type DerivedValue = [contentHash: string, value: string];

interface PersistedCache {
  format: number;
  files: Record<string, CachedHash>;
  /** By path, then by what was derived: so a warm run does not re-read a JSON input to filter it again. */
  derived?: Record<string, Record<string, DerivedValue>>;
}

/**
 * Content hashes of workspace files. Each file is hashed at most once per run
 * however many tasks include it, and a persisted cache keyed by size, mtime,
 * ctime, inode and device lets a warm run skip reading files that have not changed.
 */
export class FileHasher {
  private readonly inRun = new Map<string, Promise<string>>();
  private readonly limit = createLimit(32);
  private persisted: Record<string, CachedHash> = {};
  private readonly fresh: Record<string, CachedHash> = {};
  private persistedDerived: Record<string, Record<string, DerivedValue>> = {};
  private readonly freshDerived: Record<string, Record<string, DerivedValue>> = {};
  private readonly derivedInRun = new Map<string, Promise<string>>();
  private dirty = false;

  constructor(
    private readonly root: string,
    private readonly cacheFile?: string,
  ) {}

  /** Loads the persisted cache; a missing or unreadable one just means a cold start. */
  async load(): Promise<string | undefined> {
    if (!this.cacheFile) return undefined;
    try {
      const parsed = JSON.parse(await readFile(this.cacheFile, 'utf8')) as PersistedCache;
      if (parsed.format === CACHE_FORMAT && parsed.files && typeof parsed.files === 'object') {
        this.persisted = parsed.files;
        if (parsed.derived && typeof parsed.derived === 'object') this.persistedDerived = parsed.derived;
      }
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `ignored an unreadable file-hash cache at ${this.cacheFile}; it will be rebuilt`;
    }
  }

  hash(path: string): Promise<string> {
    let pending = this.inRun.get(path);
    if (!pending) {
      pending = this.limit(() => this.compute(path));
      this.inRun.set(path, pending);
    }
    return pending;
  }

  /**
   * A value computed from the file's bytes, `key` naming what is computed (a
   * JSON file's selected fields). It is recomputed only when the file's content
   * hash moved: an unchanged file is neither read nor parsed again on a warm run.
   */
  derive(path: string, key: string, compute: (bytes: Buffer) => string): Promise<string> {
    const id = `${path}\0${key}`;
    let pending = this.derivedInRun.get(id);
    if (!pending) {
      pending = this.hash(path).then((contentHash) => {
        const cached = this.persistedDerived[path]?.[key];
        const value = cached && cached[0] === contentHash ? cached[1] : compute(readFileSync(join(this.root, path)));
        if (!cached || cached[0] !== contentHash || cached[1] !== value) this.dirty = true;
        (this.freshDerived[path] ??= {})[key] = [contentHash, value];
        return value;
      });
      this.derivedInRun.set(id, pending);
    }
    return pending;
  }

  /**
   * Writes back what this run learned, keeping earlier entries of files this run
   * did not need, minus files no longer in the workspace. Files this run hashed
   * are kept even when the workspace listing leaves them out (ignored files an
   * `includeIgnored` input reads): they were there a moment ago.
   */
  async save(workspaceFiles: ReadonlySet<string>): Promise<void> {
    if (!this.cacheFile || !this.dirty) return;
    const files: Record<string, CachedHash> = {};
    for (const [path, entry] of Object.entries(this.persisted)) {
      if (workspaceFiles.has(path)) files[path] = entry;
    }
    Object.assign(files, this.fresh);
    const derived: Record<string, Record<string, DerivedValue>> = {};
    for (const path of new Set([...Object.keys(this.persistedDerived), ...Object.keys(this.freshDerived)])) {
      if (files[path]) derived[path] = { ...this.persistedDerived[path], ...this.freshDerived[path] };
    }
    await writeJsonAtomic(this.cacheFile, { format: CACHE_FORMAT, files, derived } satisfies PersistedCache);
  }

  private async compute(path: string): Promise<string> {
    const absolute = join(this.root, path);
    // Synchronous on purpose: a warm run stats every input file and reads none, and an
    // async lstat costs ten times a sync one in promise and thread-pool overhead.
    const stat = lstatSync(absolute);
    const cached = this.persisted[path];
    const racy = Date.now() - Math.max(stat.mtimeMs, stat.ctimeMs) < RACY_WINDOW_MS;
    if (cached && !racy && cached[0] === stat.size && cached[1] === stat.mtimeMs && cached[2] === stat.ctimeMs && cached[3] === stat.ino && cached[4] === stat.dev) {
      this.fresh[path] = cached;
      return cached[5];
    }
    const api = await xxhashApi();
    let hash: string;
    if (stat.isSymbolicLink()) {
      hash = toHex64(api.h64(`symlink:${await readlink(absolute)}`));
    } else if (stat.size < STREAM_THRESHOLD) {
      // Synchronous too: source files are small and usually in the page cache, and an async
      // read's promise and thread-pool round trip cost more than the read itself.
      hash = toHex64(api.h64Raw(readFileSync(absolute)));
    } else {
      const state = api.create64();
      for await (const chunk of createReadStream(absolute)) state.update(chunk as Buffer);
      hash = toHex64(state.digest());
    }
    this.dirty = true;
    if (!racy) this.fresh[path] = [stat.size, stat.mtimeMs, stat.ctimeMs, stat.ino, stat.dev, hash];
    return hash;
  }
}
