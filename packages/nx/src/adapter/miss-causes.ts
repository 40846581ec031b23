import { type BucketRecords, buildHashRecord, createLimit, diffRecords, type FileList, type HashRecord, type HashRecordStore, type InputChange, type MissCauses, stableStringify, type TaskOutcome, topMissCauses } from '@stride/core';
import type { NxTaskHasher } from './task-hasher.js';

/** Misses compared against the bucket's records at once, on a machine that has none of its own (a fresh CI one). */
const BUCKET_LOOKUPS_AT_ONCE = 16;

/** Records kept at once while the run goes on (small JSON files: more at once only queues on the disk). */
const RECORDS_AT_ONCE = 8;

/** A task this run hashed and did not restore: what the summary explains. */
function isMiss(outcome: TaskOutcome): boolean {
  return outcome.cache === 'miss' && outcome.hash !== null && outcome.status !== 'skipped';
}

/**
 * Keeps a record of what went into each task's hash (`.stride/why/`) and names
 * what changed for each miss, against the newest earlier hash of the same task
 * on record here, else (with a bucket) the newest one the bucket knows, which on
 * a fresh CI machine is what main built (what this run built went to the bucket
 * as it finished: publishBuilt).
 *
 * Work starts at the first miss and then follows the run, a record as each task
 * finishes, so it overlaps the tasks still running instead of waiting at the
 * end (where Nx waits for it: 0.4 s of a 200-task cold run). A run with no miss
 * does none of it, so a fully cached run costs nothing.
 */
export class MissRecorder {
  private started = false;
  private readonly before: TaskOutcome[] = [];
  private readonly work: Array<Promise<void>> = [];
  private readonly limit = createLimit(RECORDS_AT_ONCE);
  private readonly changes = new Map<string, InputChange[]>();
  private readonly fromBucket: Array<{ id: string; record: HashRecord; files: ReadonlyMap<string, FileList> }> = [];
  private firstBuilds = 0;
  private failure: unknown;

  constructor(
    private readonly store: HashRecordStore,
    private readonly hasher: NxTaskHasher,
    private readonly bucket?: BucketRecords,
  ) {}

  /** A task finished (restored, built or failed). */
  add(outcome: TaskOutcome): void {
    if (!this.started) {
      if (!isMiss(outcome)) {
        this.before.push(outcome);
        return;
      }
      this.started = true;
      for (const earlier of this.before.splice(0)) this.schedule(earlier);
    }
    this.schedule(outcome);
  }

  private schedule(outcome: TaskOutcome): void {
    if (outcome.hash === null) return;
    this.work.push(this.limit(() => this.keep(outcome)).catch((error: unknown) => void (this.failure ??= error)));
  }

  private async keep(outcome: TaskOutcome): Promise<void> {
    const explained = this.hasher.explain(outcome.id);
    if (!explained || outcome.hash === null) return;
    const record = await buildHashRecord(outcome.id, outcome.hash, explained.fingerprint, stableStringify(explained.fingerprint.options));
    if (isMiss(outcome)) {
      const previous = this.store.previous(outcome.id, outcome.hash);
      if (previous) this.changes.set(outcome.id, diffRecords(previous, record, (digest) => explained.files.get(digest) ?? this.store.files(digest)));
      else if (this.bucket) this.fromBucket.push({ id: outcome.id, record, files: explained.files });
      else this.firstBuilds++;
    }
    await this.store.save(record, explained.files);
  }

  /** After the run: the causes of its misses (undefined when nothing missed), with the index of hashes updated. */
  async finish(outcomes: readonly TaskOutcome[]): Promise<MissCauses | undefined> {
    if (!this.started) return undefined;
    await Promise.all(this.work);
    if (this.failure !== undefined) throw this.failure;
    const { bucket } = this;
    if (bucket) {
      // Compared a few at a time; what the bucket cannot explain (no record of the task there) is a first build.
      for (let at = 0; at < this.fromBucket.length; at += BUCKET_LOOKUPS_AT_ONCE) {
        await Promise.all(
          this.fromBucket.slice(at, at + BUCKET_LOOKUPS_AT_ONCE).map(async ({ id, record, files }) => {
            const earlier = await bucket.newest(id, record.hash);
            if (!earlier) {
              this.firstBuilds++;
              return;
            }
            const theirs = await bucket.files(Object.values(earlier.record.fileSets).filter((digest) => !files.has(digest)));
            this.changes.set(id, diffRecords(earlier.record, record, (digest) => files.get(digest) ?? theirs.get(digest)));
          }),
        );
      }
    }
    await this.store.remember(outcomes.filter((o) => o.hash !== null).map((o) => ({ taskId: o.id, hash: o.hash as string, at: o.endTime, how: o.cache === 'miss' ? 'built' : 'restored' })));
    return { misses: outcomes.filter(isMiss).length, causes: topMissCauses(this.changes), firstBuilds: this.firstBuilds };
  }
}

/**
 * Sends the record of a task this run just built to the bucket, with the file sets it names, in the background
 * while the run goes on (a cold run's hundreds of small objects would otherwise all wait for its end).
 */
export async function publishBuilt(bucket: BucketRecords, hasher: NxTaskHasher, outcome: TaskOutcome): Promise<void> {
  if (outcome.hash === null) return;
  const explained = hasher.explain(outcome.id);
  if (!explained) return;
  const record = await buildHashRecord(outcome.id, outcome.hash, explained.fingerprint, stableStringify(explained.fingerprint.options));
  await bucket.publish([record], (digest) => explained.files.get(digest));
}
