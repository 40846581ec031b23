import { type BucketRecords, buildHashRecord, diffRecords, type FileList, type HashRecord, type HashRecordStore, type InputChange, type MissCauses, stableStringify, type TaskOutcome, topMissCauses } from '@stride/core';
import type { NxTaskHasher } from './task-hasher.js';

/** Misses compared against the bucket's records at once, on a machine that has none of its own (a fresh CI one). */
const BUCKET_LOOKUPS_AT_ONCE = 16;

/**
 * After a run in which something missed: keeps a record of what went into each
 * task's hash (`.stride/why/`) and names what changed for each miss, against
 * the newest earlier hash of the same task on record here, else (with a bucket)
 * the newest one the bucket knows, which on a fresh CI machine is what main
 * built (what this run built went to the bucket as it finished: publishBuilt). A fully
 * cached run does none of this (it is called only when a task was built), so
 * it costs nothing where Stride must cost nothing.
 */
export async function recordAndExplainMisses(store: HashRecordStore, hasher: NxTaskHasher, outcomes: readonly TaskOutcome[], bucket?: BucketRecords): Promise<MissCauses | undefined> {
  const missed = outcomes.filter((o) => o.cache === 'miss' && o.hash !== null && o.status !== 'skipped');
  if (missed.length === 0) return undefined;
  const changes = new Map<string, InputChange[]>();
  const fromBucket: Array<{ id: string; record: HashRecord; files: ReadonlyMap<string, FileList> }> = [];
  let firstBuilds = 0;
  for (const outcome of outcomes) {
    if (outcome.hash === null) continue;
    const explained = hasher.explain(outcome.id);
    if (!explained) continue;
    const record = await buildHashRecord(outcome.id, outcome.hash, explained.fingerprint, stableStringify(explained.fingerprint.options));
    if (outcome.cache === 'miss') {
      const previous = store.previous(outcome.id, outcome.hash);
      if (previous) changes.set(outcome.id, diffRecords(previous, record, (digest) => explained.files.get(digest) ?? store.files(digest)));
      else if (bucket) fromBucket.push({ id: outcome.id, record, files: explained.files });
      else firstBuilds++;
    }
    await store.save(record, explained.files);
  }
  if (bucket) {
    // Compared a few at a time; what the bucket cannot explain (no record of the task there) is a first build.
    for (let at = 0; at < fromBucket.length; at += BUCKET_LOOKUPS_AT_ONCE) {
      await Promise.all(
        fromBucket.slice(at, at + BUCKET_LOOKUPS_AT_ONCE).map(async ({ id, record, files }) => {
          const earlier = await bucket.newest(id, record.hash);
          if (!earlier) {
            firstBuilds++;
            return;
          }
          const theirs = await bucket.files(Object.values(earlier.record.fileSets).filter((digest) => !files.has(digest)));
          changes.set(id, diffRecords(earlier.record, record, (digest) => files.get(digest) ?? theirs.get(digest)));
        }),
      );
    }
  }
  await store.remember(outcomes.filter((o) => o.hash !== null).map((o) => ({ taskId: o.id, hash: o.hash as string, at: o.endTime, how: o.cache === 'miss' ? 'built' : 'restored' })));
  return { misses: missed.length, causes: topMissCauses(changes), firstBuilds };
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
