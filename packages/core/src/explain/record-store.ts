import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { type FileList, HASH_RECORD_FORMAT, type HashRecord } from './hash-record.js';

/** How many hashes of one task the index remembers, newest first. */
const KEPT_PER_TASK = 20;

/** One hash a task had in a run, and whether that run restored it or built it. */
export interface IndexEntry {
  hash: string;
  at: number;
  how: 'built' | 'restored';
}

/**
 * Hash records on disk: `tasks/<hash>.json` per task hash, `files/<digest>.json`
 * per file set (written once, whoever uses it), and `index.json`, the recent
 * hashes of each task. Everything here is this checkout's own bookkeeping:
 * losing it costs only explanations, never a build.
 */
export class HashRecordStore {
  private folders?: Promise<void>;
  private indexRead?: Record<string, IndexEntry[]>;

  constructor(readonly dir: string) {}

  async save(record: HashRecord, files: ReadonlyMap<string, FileList>): Promise<void> {
    this.folders ??= Promise.all([mkdir(join(this.dir, 'tasks'), { recursive: true }), mkdir(join(this.dir, 'files'), { recursive: true })]).then(() => undefined);
    await this.folders;
    for (const digest of Object.values(record.fileSets)) {
      const list = files.get(digest);
      const path = join(this.dir, 'files', `${safeName(digest)}.json`);
      if (list && !existsSync(path)) await writeJsonAtomic(path, list);
    }
    await writeJsonAtomic(join(this.dir, 'tasks', `${safeName(record.hash)}.json`), record);
  }

  /** The record of a hash; undefined when absent, unreadable, or of another format (`format` says which). */
  read(hash: string): { record?: HashRecord; format?: unknown } {
    try {
      const parsed = JSON.parse(readFileSync(join(this.dir, 'tasks', `${safeName(hash)}.json`), 'utf8')) as HashRecord;
      return parsed.format === HASH_RECORD_FORMAT ? { record: parsed } : { format: parsed.format };
    } catch {
      return {};
    }
  }

  files(digest: string): FileList | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'files', `${safeName(digest)}.json`), 'utf8')) as FileList;
    } catch {
      return undefined;
    }
  }

  /** The hashes on record by task, newest first: read once per store (a run asks for it once per miss). */
  index(): Record<string, IndexEntry[]> {
    if (this.indexRead) return this.indexRead;
    try {
      this.indexRead = JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8')) as Record<string, IndexEntry[]>;
    } catch {
      this.indexRead = {};
    }
    return this.indexRead;
  }

  /** Adds this run's hashes to the index (a hash seen again moves to the front). */
  async remember(entries: ReadonlyArray<IndexEntry & { taskId: string }>): Promise<void> {
    const index = { ...this.index() };
    for (const { taskId, ...entry } of entries) {
      const kept = (index[taskId] ?? []).filter((e) => e.hash !== entry.hash);
      index[taskId] = [entry, ...kept].slice(0, KEPT_PER_TASK);
    }
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, 'index.json'), index);
    this.indexRead = index;
  }

  /** The newest hash of the task other than `hash` that has a record: what a miss is compared with. */
  previous(taskId: string, hash: string): HashRecord | undefined {
    for (const entry of this.index()[taskId] ?? []) {
      if (entry.hash === hash) continue;
      const { record } = this.read(entry.hash);
      if (record) return record;
    }
    return undefined;
  }
}

/** Hashes and digests are hex; anything else never becomes a path. */
function safeName(name: string): string {
  return name.replace(/[^0-9A-Za-z_-]/g, '_');
}
