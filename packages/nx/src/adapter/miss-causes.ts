import { buildHashRecord, diffRecords, HashRecordStore, type InputChange, type MissCauses, stableStringify, type TaskOutcome, topMissCauses } from '@stride/core';
import type { NxTaskHasher } from './task-hasher.js';

/**
 * After a run in which something missed: keeps a record of what went into each
 * task's hash (`.stride/why/`) and names what changed for each miss, against
 * the newest earlier hash of the same task on record. A fully cached run does
 * none of this (it is called only when a task was built), so it costs nothing
 * where Stride must cost nothing.
 */
export async function recordAndExplainMisses(store: HashRecordStore, hasher: NxTaskHasher, outcomes: readonly TaskOutcome[]): Promise<MissCauses | undefined> {
  const missed = outcomes.filter((o) => o.cache === 'miss' && o.hash !== null && o.status !== 'skipped');
  if (missed.length === 0) return undefined;
  const changes = new Map<string, InputChange[]>();
  let firstBuilds = 0;
  for (const outcome of outcomes) {
    if (outcome.hash === null) continue;
    const explained = hasher.explain(outcome.id);
    if (!explained) continue;
    const record = await buildHashRecord(outcome.id, outcome.hash, explained.fingerprint, stableStringify(explained.fingerprint.options));
    if (outcome.cache === 'miss') {
      const previous = store.previous(outcome.id, outcome.hash);
      if (previous) changes.set(outcome.id, diffRecords(previous, record, (digest) => explained.files.get(digest) ?? store.files(digest)));
      else firstBuilds++;
    }
    await store.save(record, explained.files);
  }
  await store.remember(outcomes.filter((o) => o.hash !== null).map((o) => ({ taskId: o.id, hash: o.hash as string, at: o.endTime, how: o.cache === 'miss' ? 'built' : 'restored' })));
  return { misses: missed.length, causes: topMissCauses(changes), firstBuilds };
}
