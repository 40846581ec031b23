import { createHash } from 'node:crypto';
import { type FileList, type HashRecord, parseFileList, parseHashRecord } from './hash-record.js';

/** The part of the remote cache the bucket's hash records travel through (RemoteCache implements it). */
export interface ExplainObjects {
  scheduleExplainUploads(objects: ReadonlyArray<{ name: string; body: Buffer; replace: boolean }>): void;
  readExplain(name: string, maxBytes: number): Promise<{ value: unknown; location: string } | undefined>;
}

/** Records and file lists are small; anything larger is not one of ours. */
const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_FILES_BYTES = 16 * 1024 * 1024;
/** Pointers read at once when publishing. */
const POINTER_READS_AT_ONCE = 16;
/** Hashes of one task a pointer keeps, newest first. */
const KEPT_PER_TASK = 10;

/** The task's recent hashes in the bucket: `why/latest/<digest of the task id>.json`. */
interface LatestPointer {
  taskId: string;
  hashes: Array<{ hash: string; at: number }>;
}

/**
 * Hash records next to the artifacts (`<location>/why/...`), so that a fresh CI machine can explain a miss
 * against what main built: `tasks/<hash>.json` per built hash, `files/<digest>.json` per file set (written once:
 * a set shared by many tasks is one object, and an existing one is kept), and `latest/<task digest>.json`, the
 * task's recent hashes (rewritten by each run that built it). Everything read back is untrusted: checked by
 * shape and size, and only ever printed escaped; it explains, it never decides a restore.
 */
export class BucketRecords {
  private readonly filesSent = new Set<string>();
  private readonly fileCache = new Map<string, Promise<FileList | undefined>>();
  /** Each task's pointer is read once per run: the comparisons and the publish after them share it. */
  private readonly pointers = new Map<string, Promise<LatestPointer | undefined>>();

  constructor(private readonly objects: ExplainObjects) {}

  /** Uploads the records of hashes this run built, with the file sets they name and each task's pointer. */
  async publish(records: readonly HashRecord[], files: (digest: string) => FileList | undefined): Promise<void> {
    const uploads: Array<{ name: string; body: Buffer; replace: boolean }> = [];
    // The pointers are read at once (one request each; most were read already by the comparisons).
    const earlierOf = new Map<string, LatestPointer | undefined>();
    for (let at = 0; at < records.length; at += POINTER_READS_AT_ONCE) {
      const slice = records.slice(at, at + POINTER_READS_AT_ONCE);
      const found = await Promise.all(slice.map((record) => this.pointer(record.taskId)));
      slice.forEach((record, i) => earlierOf.set(record.taskId, found[i]));
    }
    for (const record of records) {
      for (const digest of Object.values(record.fileSets)) {
        if (this.filesSent.has(digest)) continue;
        const list = files(digest);
        if (!list) continue;
        this.filesSent.add(digest);
        uploads.push({ name: filesName(digest), body: json(list), replace: false });
      }
      uploads.push({ name: taskName(record.hash), body: json(record), replace: false });
      const earlier = earlierOf.get(record.taskId);
      const hashes = [{ hash: record.hash, at: record.at }, ...(earlier?.hashes ?? []).filter((h) => h.hash !== record.hash)].slice(0, KEPT_PER_TASK);
      uploads.push({ name: latestName(record.taskId), body: json({ taskId: record.taskId, hashes } satisfies LatestPointer), replace: true });
    }
    this.objects.scheduleExplainUploads(uploads);
  }

  /** The newest hash of the task the bucket knows other than `except`, with its record and where it was found. */
  async newest(taskId: string, except?: string): Promise<{ record: HashRecord; location: string } | undefined> {
    const pointer = await this.pointer(taskId);
    for (const { hash } of pointer?.hashes ?? []) {
      if (hash === except) continue;
      const found = await this.record(hash);
      if (found && found.record.taskId === taskId) return found;
    }
    return undefined;
  }

  /** The record of one hash, if the bucket has a well-formed one. */
  async record(hash: string): Promise<{ record: HashRecord; location: string } | undefined> {
    if (!HEX_NAME.test(hash)) return undefined;
    const found = await this.objects.readExplain(taskName(hash), MAX_RECORD_BYTES);
    const record = found ? parseHashRecord(found.value) : undefined;
    return record && record.hash === hash ? { record, location: found?.location ?? '' } : undefined;
  }

  /** The file lists of these digests, fetched at once (diffRecords asks for them one by one, synchronously). */
  async files(digests: Iterable<string>): Promise<Map<string, FileList>> {
    const out = new Map<string, FileList>();
    await Promise.all(
      [...new Set(digests)].map(async (digest) => {
        let pending = this.fileCache.get(digest);
        if (!pending) {
          pending = HEX_NAME.test(digest) ? this.objects.readExplain(filesName(digest), MAX_FILES_BYTES).then((found) => (found ? parseFileList(found.value) : undefined)) : Promise.resolve(undefined);
          this.fileCache.set(digest, pending);
        }
        const list = await pending;
        if (list) out.set(digest, list);
      }),
    );
    return out;
  }

  private pointer(taskId: string): Promise<LatestPointer | undefined> {
    let pending = this.pointers.get(taskId);
    if (!pending) {
      pending = this.readPointer(taskId);
      this.pointers.set(taskId, pending);
    }
    return pending;
  }

  private async readPointer(taskId: string): Promise<LatestPointer | undefined> {
    const found = await this.objects.readExplain(latestName(taskId), MAX_RECORD_BYTES);
    const raw = found?.value as Partial<LatestPointer> | undefined;
    if (!raw || raw.taskId !== taskId || !Array.isArray(raw.hashes)) return undefined;
    const hashes = raw.hashes.filter((h): h is { hash: string; at: number } => typeof h?.hash === 'string' && HEX_NAME.test(h.hash) && typeof h.at === 'number');
    return { taskId, hashes: hashes.slice(0, KEPT_PER_TASK) };
  }
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value)}\n`);
const taskName = (hash: string): string => `why/tasks/${hash}.json`;
const filesName = (digest: string): string => `why/files/${digest}.json`;
/** A task id may hold any character a project name can: the key uses a digest of it. */
/** Hashes and digests read from the bucket become object names only when they are plain hex. */
const HEX_NAME = /^[0-9a-f]{1,128}$/;

const latestName = (taskId: string): string => `why/latest/${createHash('sha256').update(taskId).digest('hex').slice(0, 32)}.json`;
